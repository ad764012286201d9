/**
 * What an isolate's memory does under llm-router's default burst of
 * max-size embedding requests: llm-router runs alone in its own process (no
 * embedded database, the mock provider in this test's process), its V8 heap
 * capped below an isolate's 256 MB as Supabase caps it, and the process's
 * peak resident memory (VmHWM) must stay under 256 MB with every request
 * answered in full.
 */
import assert from "node:assert/strict";
import { collect, freePort, ROOT, runtimeOnlyEnv } from "./helpers/process.ts";
import { keepSuiteLogs } from "./helpers/logs.ts";
import { DEV_JWT_SECRET, signToken } from "./helpers/tokens.ts";
import { startMockProvider } from "../scripts/mock-provider.ts";

/** llm-router's default rate-limit burst (LLM_RATE_LIMIT_BURST): what one member may send at once. */
const BURST = 50;
/** The default caps: LLM_EMBEDDINGS_MAX_INPUTS and LLM_EMBEDDINGS_MAX_INPUT_BYTES. */
const MAX_INPUTS = 2_048;
const MAX_INPUT_BYTES = 262_144;
const ISOLATE_LIMIT_MB = 256;

/** The process's peak resident memory so far, in MB. */
function peakMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

Deno.test("embeddings: the default burst of max-size requests keeps llm-router under 256 MB", async () => {
  const mock = await startMockProvider();
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    // 160 MB of V8 heap leaves the rest of the 256 for what lives outside it (Deno's HTTP
    // server and client); without a cap V8 lets garbage pile up far past what is live.
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--max-heap-size=160",
      "tests/helpers/router-server.ts",
    ],
    cwd: ROOT,
    clearEnv: true,
    env: {
      ...runtimeOnlyEnv(),
      ROUTER_PORT: String(port),
      OPENAI_API_KEY: "sk-test-embeddings-memory",
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  try {
    const deadline = Date.now() + 30_000;
    while (!stdout.text().includes("Ready.")) {
      assert.ok(Date.now() < deadline, `router did not start:\n${stderr.text()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const base = `http://127.0.0.1:${port}/functions/v1/llm-router`;
    await (await fetch(`${base}/health`)).body?.cancel();
    const before = peakMb(child.pid);

    // As large as the defaults allow: 2,048 inputs of 128 bytes. 256 dimensions rather than
    // the model's 1,536 keep the test quick; batches are sized in floats, so memory is the same.
    const input = Array.from(
      { length: MAX_INPUTS },
      (_, i) => `${i}:`.padEnd(MAX_INPUT_BYTES / MAX_INPUTS, "x"),
    );
    const body = JSON.stringify({
      model: "text-embedding-3-small",
      input,
      dimensions: 256,
      encoding_format: "float",
    });
    const token = await signToken();
    const answers = await Promise.all(Array.from({ length: BURST }, async (_, i) => {
      const response = await fetch(`${base}/v1/embeddings`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
      });
      const text = await response.text();
      // One answer is read in full; the rest only counted (parsing 50 × 11 MB here is slow).
      if (i === 0 && response.status === 200) {
        const parsed = JSON.parse(text);
        assert.equal(parsed.data.length, MAX_INPUTS);
        assert.ok(parsed.data.every((d: { embedding: number[] }) => d.embedding.length === 256));
      }
      return { status: response.status, bytes: text.length, tail: text.slice(-80) };
    }));
    const peak = peakMb(child.pid);
    console.log(
      `embeddings burst: ${BURST} × ${MAX_INPUTS} inputs (${body.length} bytes each): ` +
        `peak RSS ${peak.toFixed(0)} MB (${before.toFixed(0)} MB before)`,
    );
    assert.deepEqual(answers.map((a) => a.status), Array(BURST).fill(200));
    assert.ok(answers.every((a) => a.bytes === answers[0].bytes && a.tail.endsWith("}}")));
    assert.ok(peak < ISOLATE_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB`);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Promise.all([stdout.done, stderr.done]);
    keepSuiteLogs(stderr.text());
    await mock.close();
  }
});
