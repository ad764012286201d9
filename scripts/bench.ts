/**
 * `deno task bench`: the same load against
 *   (a) the mock provider directly (the floor),
 *   (b) a bare Deno pass-through proxy in front of it (the baseline gateway),
 *   (c) ai-chat-direct (auth, validation, rollout, SSE relay) in front of it,
 * at concurrency 1 and 32, streaming, each in its own process, all measured
 * in this one run. Prints requests/s, p50/p99 latency, time to first byte,
 * and the ratios against the baseline.
 *
 * Settings: BENCH_SECONDS (per scenario, default 3), BENCH_WORDS (reply
 * length, default 20). Traffic stays on 127.0.0.1 and stops by itself.
 */
import { localKeys } from "./dev/local-keys.ts";
import { LoadRequest, LoadResult, runLoad } from "./bench/load.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const seconds = Number(Deno.env.get("BENCH_SECONDS") ?? 3);
const words = Number(Deno.env.get("BENCH_WORDS") ?? 20);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function spawn(args: string[], env: Record<string, string>, readyUrl: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 30_000;
  while (true) {
    try {
      const response = await fetch(readyUrl);
      await response.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${args.join(" ")} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { stop: async () => (child.kill("SIGTERM"), await child.status) };
}

const mockPort = freePort();
const proxyPort = freePort();
const gatewayPort = freePort();
const mockUrl = `http://127.0.0.1:${mockPort}`;
const model = `gpt-4o-mini::words=${words}`;
const keys = await localKeys();

const processes = [
  await spawn(
    ["scripts/mock-provider.ts"],
    { MOCK_PROVIDER_PORT: String(mockPort) },
    `${mockUrl}/health`,
  ),
  await spawn(
    ["scripts/bench/bare-proxy.ts"],
    { UPSTREAM: mockUrl, PORT: String(proxyPort) },
    `http://127.0.0.1:${proxyPort}/health`,
  ),
  await spawn(["scripts/dev.ts"], {
    DEV_PORT: String(gatewayPort),
    OPENAI_API_KEY: "sk-bench-key",
    OPENAI_BASE_URL: `${mockUrl}/v1`,
    DIRECT_CHAT_MODEL: model,
  }, `http://127.0.0.1:${gatewayPort}/functions/v1/llm-health`),
];

const upstreamBody = JSON.stringify({
  model,
  messages: [{ role: "system", content: "You are a benchmark." }, {
    role: "user",
    content: "Hello, benchmark",
  }],
  stream: true,
  stream_options: { include_usage: true },
});
const openAIRequest = (base: string): LoadRequest => ({
  url: `${base}/v1/chat/completions`,
  init: () => ({
    method: "POST",
    headers: { authorization: "Bearer sk-bench-key", "content-type": "application/json" },
    body: upstreamBody,
  }),
});
const targets: [string, LoadRequest][] = [
  ["mock provider (floor)", openAIRequest(mockUrl)],
  ["bare proxy (baseline)", openAIRequest(`http://127.0.0.1:${proxyPort}`)],
  ["ai-chat-direct", {
    url: `http://127.0.0.1:${gatewayPort}/functions/v1/ai-chat-direct`,
    init: () => ({
      method: "POST",
      headers: { authorization: `Bearer ${keys.userToken}`, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hello, benchmark" }] }),
    }),
  }],
];

const results = new Map<string, LoadResult>();
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
console.log(`streaming chat, ${words}-word replies, ${seconds}s per scenario`);
console.log("target                  conc   req/s   p50 ms   p99 ms  ttfb p50  ttfb p99  errors");
try {
  for (const concurrency of [1, 32]) {
    for (const [name, request] of targets) {
      const result = await runLoad(request, concurrency, seconds);
      results.set(`${name}@${concurrency}`, result);
      console.log(
        `${name.padEnd(22)} ${String(concurrency).padStart(5)} ${
          fmt(result.requestsPerSecond, 0).padStart(7)
        } ` +
          `${fmt(result.latencyMs.p50).padStart(8)} ${fmt(result.latencyMs.p99).padStart(8)} ` +
          `${fmt(result.firstByteMs.p50).padStart(9)} ${fmt(result.firstByteMs.p99).padStart(9)} ${
            String(result.errors).padStart(7)
          }`,
      );
    }
  }
} finally {
  for (const process of processes) await process.stop();
}

console.log("\nratios (same run):");
for (const concurrency of [1, 32]) {
  const floor = results.get(`mock provider (floor)@${concurrency}`)!;
  const baseline = results.get(`bare proxy (baseline)@${concurrency}`)!;
  const direct = results.get(`ai-chat-direct@${concurrency}`)!;
  console.log(
    `  c=${concurrency}: ai-chat-direct req/s = ${
      fmt(direct.requestsPerSecond / baseline.requestsPerSecond)
    }× bare proxy ` +
      `(${fmt(direct.requestsPerSecond / floor.requestsPerSecond)}× mock); ` +
      `added p50 latency vs bare proxy ${fmt(direct.latencyMs.p50 - baseline.latencyMs.p50)} ms; ` +
      `added p50 first byte vs bare proxy ${
        fmt(direct.firstByteMs.p50 - baseline.firstByteMs.p50)
      } ms`,
  );
}
