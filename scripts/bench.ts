/**
 * `deno task bench`: the same load, in one run, against
 *   (a) the mock provider directly (the floor),
 *   (b) a bare Deno pass-through proxy in front of it (the baseline gateway),
 *   (c) llm-router's OpenAI-compatible API in front of it (auth, validation,
 *       routing, token budget, retries and circuit breakers on; rate limits off),
 *   (d) the same with every guard on: a rate limit, a per-model ceiling and a
 *       budget hold per request, in the in-memory store,
 *   (e) the same with the guards in Redis (a local redis-server behind the
 *       Upstash REST bridge, as `@upstash/redis` reaches Upstash),
 *   (f) ai-chat-direct (streaming only: it has no JSON mode),
 * at concurrency 1 and 32, JSON and streamed, each server in its own
 * process. Prints requests/s, p50/p99 latency, time to first byte, and the
 * ratios against the bare proxy measured in the same run, and the guards'
 * cost as ratios against the router without them.
 *
 * The targets of a scenario take turns in short rounds, so drift in the
 * machine's speed hits them alike; each ratio is the median of the
 * per-round ratios.
 *
 * Settings: BENCH_SECONDS (per round, default 2), BENCH_ROUNDS (default 3),
 * BENCH_WORDS (reply length, default 20). Traffic stays on 127.0.0.1 and
 * stops by itself.
 */
import { localKeys } from "./dev/local-keys.ts";
import { startRedis } from "./test/redis.ts";
import {
  type LoadRequest,
  type LoadResult,
  type LoadSamples,
  mergeResults,
  sampleLoad,
} from "./bench/load.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const seconds = Number(Deno.env.get("BENCH_SECONDS") ?? 2);
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const words = Number(Deno.env.get("BENCH_WORDS") ?? 20);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function spawn(
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
  scriptArgs: string[] = [],
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", ...args, ...scriptArgs],
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
const bridgePort = freePort();
const mockUrl = `http://127.0.0.1:${mockPort}`;
const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
const gateways = {
  plain: freePort(),
  memory: freePort(),
  redis: freePort(),
};
const gatewayUrl = (port: number) => `http://127.0.0.1:${port}/functions/v1`;
// Tokens carry the issuer of the gateway that verifies them.
const keysFor = (port: number) => localKeys({ issuer: `http://127.0.0.1:${port}/auth/v1` });
const keys = {
  plain: await keysFor(gateways.plain),
  memory: await keysFor(gateways.memory),
  redis: await keysFor(gateways.redis),
};

const redis = await startRedis();
const gatewayEnv = (port: number, extra: Record<string, string> = {}) => ({
  DEV_PORT: String(port),
  OPENAI_API_KEY: "sk-bench-key",
  OPENAI_BASE_URL: `${mockUrl}/v1`,
  // The load comes from one account: its bucket must not be the bottleneck being measured.
  LLM_RATE_LIMIT_RPS: "0",
  ...extra,
});
const guarded = {
  LLM_RATE_LIMIT_RPS: "1000000",
  LLM_RATE_LIMIT_BURST: "1000000",
  LLM_MODEL_RATE_LIMITS: JSON.stringify({
    "gpt-4o-mini": { rpm: 100_000_000, tpm: 10_000_000_000 },
  }),
};

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
  await spawn(
    ["scripts/redis/bridge.ts"],
    {},
    `${bridgeUrl}/health`,
    ["--redis-port", String(redis.port), "--port", String(bridgePort), "--token", "bench"],
  ),
  await spawn(
    ["scripts/dev.ts"],
    gatewayEnv(gateways.plain),
    `${gatewayUrl(gateways.plain)}/llm-health`,
  ),
  await spawn(
    ["scripts/dev.ts"],
    gatewayEnv(gateways.memory, guarded),
    `${gatewayUrl(gateways.memory)}/llm-health`,
  ),
  await spawn(
    ["scripts/dev.ts"],
    gatewayEnv(gateways.redis, {
      ...guarded,
      UPSTASH_REDIS_REST_URL: bridgeUrl,
      UPSTASH_REDIS_REST_TOKEN: "bench",
    }),
    `${gatewayUrl(gateways.redis)}/llm-health`,
  ),
];

// A budget on the account, far from spent: every request holds and settles against it.
for (const name of ["memory", "redis"] as const) {
  const response = await fetch(`${gatewayUrl(gateways[name])}/llm-router/budgets`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${keys[name].adminToken}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ dailyLimitUsd: 1_000_000, monthlyLimitUsd: 10_000_000 }),
  });
  if (!response.ok) throw new Error(`setting the bench budget failed: ${await response.text()}`);
}

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
    (s) =>
      openAIRequest(
        `${gatewayUrl(gateways.plain)}/llm-router/v1/chat/completions`,
        keys.plain.userToken,
        s,
      ),
  ],
  [
    "router+guards memory",
    (s) =>
      openAIRequest(
        `${gatewayUrl(gateways.memory)}/llm-router/v1/chat/completions`,
        keys.memory.userToken,
        s,
      ),
  ],
  [
    "router+guards redis",
    (s) =>
      openAIRequest(
        `${gatewayUrl(gateways.redis)}/llm-router/v1/chat/completions`,
        keys.redis.userToken,
        s,
      ),
  ],
  ["ai-chat-direct", (s) =>
    s
      ? {
        url: `${gatewayUrl(gateways.plain)}/ai-chat-direct`,
        init: () => ({
          method: "POST",
          headers: {
            authorization: `Bearer ${keys.plain.userToken}`,
            "content-type": "application/json",
          },
          body: directBody,
        }),
      }
      : undefined],
];

const results = new Map<string, LoadResult>();
const runsOf = new Map<string, LoadSamples[]>();
const ratios = new Map<string, { rps: number; p50: number; ttfb: number }>();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
console.log(
  `chat completions, ${words}-word replies, ${rounds} rounds × ${seconds}s per target and scenario, ` +
    `2 cores shared by all processes`,
);
console.log(
  "mode    target                  conc   req/s   p50 ms   p99 ms  ttfb p50  ttfb p99  errors",
);
try {
  for (const stream of [false, true]) {
    for (const concurrency of [1, 32]) {
      const scenario = targets.flatMap(([name, requestFor]) => {
        const request = requestFor(stream);
        return request ? [{ name, request, runs: [] as LoadSamples[] }] : [];
      });
      for (let round = 0; round < rounds; round++) {
        for (const target of scenario) {
          target.runs.push(await sampleLoad(target.request, concurrency, seconds, 0.3));
        }
      }
      const baseline = scenario.find((t) => t.name.startsWith("bare proxy"))!;
      for (const target of scenario) {
        const result = mergeResults(target.runs);
        results.set(`${target.name}|${stream}|${concurrency}`, result);
        runsOf.set(`${target.name}|${stream}|${concurrency}`, target.runs);
        console.log(
          `${(stream ? "stream" : "json").padEnd(7)} ${target.name.padEnd(22)} ${
            String(concurrency).padStart(5)
          } ` +
            `${fmt(result.requestsPerSecond, 0).padStart(7)} ${
              fmt(result.latencyMs.p50).padStart(8)
            } ` +
            `${fmt(result.latencyMs.p99).padStart(8)} ${fmt(result.firstByteMs.p50).padStart(9)} ` +
            `${fmt(result.firstByteMs.p99).padStart(9)} ${String(result.errors).padStart(7)}`,
        );
        const perRound = target.runs.map((run, i) => {
          const mine = mergeResults([run]);
          const base = mergeResults([baseline.runs[i]]);
          return {
            rps: mine.requestsPerSecond / base.requestsPerSecond,
            p50: mine.latencyMs.p50 - base.latencyMs.p50,
            ttfb: mine.firstByteMs.p50 - base.firstByteMs.p50,
          };
        });
        ratios.set(`${target.name}|${stream}|${concurrency}`, {
          rps: median(perRound.map((r) => r.rps)),
          p50: median(perRound.map((r) => r.p50)),
          ttfb: median(perRound.map((r) => r.ttfb)),
        });
      }
    }
  }
} finally {
  for (const process of processes) await process.stop();
  await redis.stop();
}

console.log("\nagainst the bare proxy (median of per-round comparisons, same run):");
for (const stream of [false, true]) {
  for (const concurrency of [1, 32]) {
    for (
      const name of ["llm-router", "router+guards memory", "router+guards redis", "ai-chat-direct"]
    ) {
      const ratio = ratios.get(`${name}|${stream}|${concurrency}`);
      if (!ratio) continue;
      console.log(
        `  ${stream ? "stream" : "json  "} c=${String(concurrency).padEnd(2)} ${name.padEnd(21)} ` +
          `req/s ${fmt(ratio.rps)}×, added p50 latency ${fmt(ratio.p50)} ms` +
          (stream ? `, added p50 first byte ${fmt(ratio.ttfb)} ms` : ""),
      );
    }
  }
}

console.log("\nthe guards' cost, against llm-router without them (median per round, same run):");
for (const stream of [false, true]) {
  for (const concurrency of [1, 32]) {
    const plain = runsOf.get(`llm-router|${stream}|${concurrency}`)!;
    for (const name of ["router+guards memory", "router+guards redis"]) {
      const guardedRuns = runsOf.get(`${name}|${stream}|${concurrency}`)!;
      const perRound = guardedRuns.map((run, i) => {
        const mine = mergeResults([run]);
        const base = mergeResults([plain[i]]);
        return {
          rps: mine.requestsPerSecond / base.requestsPerSecond,
          p50: mine.latencyMs.p50 - base.latencyMs.p50,
        };
      });
      console.log(
        `  ${stream ? "stream" : "json  "} c=${String(concurrency).padEnd(2)} ${name.padEnd(21)} ` +
          `req/s ${fmt(median(perRound.map((r) => r.rps)))}× the router's, added p50 latency ${
            fmt(median(perRound.map((r) => r.p50)))
          } ms`,
      );
    }
  }
}
