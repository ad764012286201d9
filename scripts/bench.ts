/**
 * `deno task bench`: the same load, in one run, against
 *   (a) the mock provider directly (the floor),
 *   (b) a bare Deno pass-through proxy in front of it (the baseline gateway),
 *   (c) llm-router's OpenAI-compatible API in front of it (auth, validation,
 *       routing, token budget, retries and circuit breakers on),
 *   (d) ai-chat-direct (streaming only: it has no JSON mode),
 * at concurrency 1 and 32, JSON and streamed, each server in its own
 * process. Prints requests/s, p50/p99 latency, time to first byte, and the
 * ratios against the bare proxy measured in the same run.
 *
 * Settings: BENCH_SECONDS (per scenario, default 3), BENCH_WORDS (reply
 * length, default 20). Traffic stays on 127.0.0.1 and stops by itself.
 */
import { localKeys } from "./dev/local-keys.ts";
import { type LoadRequest, type LoadResult, runLoad } from "./bench/load.ts";

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
const gatewayUrl = `http://127.0.0.1:${gatewayPort}/functions/v1`;
const keys = await localKeys();

const processes = [
  await spawn(["scripts/mock-provider.ts"], {
    MOCK_PROVIDER_PORT: String(mockPort),
    MOCK_DEFAULT_WORDS: String(words),
  }, `${mockUrl}/health`),
  await spawn(
    ["scripts/bench/bare-proxy.ts"],
    { UPSTREAM: mockUrl, PORT: String(proxyPort) },
    `http://127.0.0.1:${proxyPort}/health`,
  ),
  await spawn(["scripts/dev.ts"], {
    DEV_PORT: String(gatewayPort),
    OPENAI_API_KEY: "sk-bench-key",
    OPENAI_BASE_URL: `${mockUrl}/v1`,
  }, `${gatewayUrl}/llm-health`),
];

const chatBody = (stream: boolean) =>
  JSON.stringify({
    model: "gpt-4o-mini",
    messages: [{ role: "system", content: "You are a benchmark." }, {
      role: "user",
      content: "Hello, benchmark",
    }],
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
const openAIRequest = (url: string, token: string, stream: boolean): LoadRequest => {
  const body = chatBody(stream);
  return {
    url,
    init: () => ({
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
    }),
  };
};
const directBody = JSON.stringify({ messages: [{ role: "user", content: "Hello, benchmark" }] });

type Target = [name: string, request: (stream: boolean) => LoadRequest | undefined];
const targets: Target[] = [
  [
    "mock provider (floor)",
    (s) => openAIRequest(`${mockUrl}/v1/chat/completions`, "sk-bench-key", s),
  ],
  [
    "bare proxy (baseline)",
    (s) => openAIRequest(`http://127.0.0.1:${proxyPort}/v1/chat/completions`, "sk-bench-key", s),
  ],
  [
    "llm-router",
    (s) => openAIRequest(`${gatewayUrl}/llm-router/v1/chat/completions`, keys.userToken, s),
  ],
  ["ai-chat-direct", (s) =>
    s
      ? {
        url: `${gatewayUrl}/ai-chat-direct`,
        init: () => ({
          method: "POST",
          headers: {
            authorization: `Bearer ${keys.userToken}`,
            "content-type": "application/json",
          },
          body: directBody,
        }),
      }
      : undefined],
];

const results = new Map<string, LoadResult>();
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
console.log(
  `chat completions, ${words}-word replies, ${seconds}s per scenario, 2 cores shared by all processes`,
);
console.log(
  "mode    target                  conc   req/s   p50 ms   p99 ms  ttfb p50  ttfb p99  errors",
);
try {
  for (const stream of [false, true]) {
    for (const concurrency of [1, 32]) {
      for (const [name, requestFor] of targets) {
        const request = requestFor(stream);
        if (!request) continue;
        const result = await runLoad(request, concurrency, seconds);
        results.set(`${name}|${stream}|${concurrency}`, result);
        console.log(
          `${(stream ? "stream" : "json").padEnd(7)} ${name.padEnd(22)} ${
            String(concurrency).padStart(5)
          } ` +
            `${fmt(result.requestsPerSecond, 0).padStart(7)} ${
              fmt(result.latencyMs.p50).padStart(8)
            } ` +
            `${fmt(result.latencyMs.p99).padStart(8)} ${fmt(result.firstByteMs.p50).padStart(9)} ` +
            `${fmt(result.firstByteMs.p99).padStart(9)} ${String(result.errors).padStart(7)}`,
        );
      }
    }
  }
} finally {
  for (const process of processes) await process.stop();
}

console.log("\nratios against the bare proxy, same run:");
for (const stream of [false, true]) {
  for (const concurrency of [1, 32]) {
    const baseline = results.get(`bare proxy (baseline)|${stream}|${concurrency}`)!;
    for (const name of ["llm-router", "ai-chat-direct"]) {
      const gateway = results.get(`${name}|${stream}|${concurrency}`);
      if (!gateway) continue;
      console.log(
        `  ${stream ? "stream" : "json  "} c=${String(concurrency).padEnd(2)} ${name.padEnd(15)} ` +
          `req/s ${fmt(gateway.requestsPerSecond / baseline.requestsPerSecond)}×, ` +
          `added p50 ${fmt(gateway.latencyMs.p50 - baseline.latencyMs.p50)} ms, ` +
          `added p99 ${fmt(gateway.latencyMs.p99 - baseline.latencyMs.p99)} ms` +
          (stream
            ? `, added first byte p50 ${fmt(gateway.firstByteMs.p50 - baseline.firstByteMs.p50)} ms`
            : ""),
      );
    }
  }
}
