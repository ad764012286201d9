/**
 * What the direct functions' guards add to a stream's first byte. Three
 * ai-chat-direct servers (scripts/bench/direct-server.ts), each in its own
 * process, in front of a canned OpenAI (scripts/bench/canned-openai.ts):
 *   (a) nothing to guard: no rate limit, no database (the baseline),
 *   (b) every guard on in the memory store: the user's token bucket, the
 *       account's budget held and settled, its llm_usage row and metrics,
 *   (c) the same in Redis (a local redis-server behind the Upstash REST
 *       bridge, as `@upstash/redis` reaches Upstash).
 * The targets take turns in short rounds; each figure is the median of the
 * per-round differences against (a), measured in the same run.
 *
 * Load comes from `wrk` (Debian's package; skipped with a note when it is
 * not installed): its latency is to the end of the stream, which the canned
 * upstream sends at once, so it moves with the first byte. Time to the first body
 * byte itself is sampled at concurrency 1 by scripts/bench/load.ts.
 *
 * Run: `npx -y deno@2.9.6 run --allow-all scripts/bench/direct-guards.ts`.
 * Settings: BENCH_SECONDS (per round and target, default 2), BENCH_ROUNDS (default 3).
 */
import { LOCAL_JWT_SECRET, localKeys } from "../dev/local-keys.ts";
import { startRedis } from "../test/redis.ts";
import { freePort } from "../test/system.ts";
import { type LoadRequest, mergeResults, sampleLoad } from "./load.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const seconds = Number(Deno.env.get("BENCH_SECONDS") ?? 2);
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);

async function spawn(
  script: string,
  env: Record<string, string>,
  readyUrl: string,
  args: string[] = [],
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const deadline = Date.now() + 60_000;
  while (true) {
    try {
      const response = await fetch(readyUrl);
      await response.body?.cancel();
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${script} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { stop: async () => (child.kill("SIGTERM"), await child.status) };
}

function hasWrk(): boolean {
  try {
    return new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().code <= 1;
  } catch {
    return false;
  }
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const toMs = (value: string, unit: string) =>
  Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit];

async function wrk(url: string, script: string, connections: number): Promise<WrkResult> {
  const output = await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const latency = (pct: string) => {
    const match = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(text);
    return match ? toMs(match[1], match[2]) : NaN;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN),
    p50: latency("50"),
    p99: latency("99"),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0) +
      Number(/Socket errors:.*?timeout (\d+)/.exec(text)?.[1] ?? 0),
  };
}

const mockPort = freePort();
const bridgePort = freePort();
const mockUrl = `http://127.0.0.1:${mockPort}`;
const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
const keys = await localKeys();
const body = JSON.stringify({ messages: [{ role: "user", content: "Hello, benchmark" }] });
const common = {
  OPENAI_API_KEY: "sk-bench-key",
  OPENAI_BASE_URL: `${mockUrl}/v1`,
  SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
  SUPABASE_JWT_ISSUER: "none",
};
const guarded = {
  DIRECT_RATE_LIMIT_RPS: "1000000",
  DIRECT_RATE_LIMIT_BURST: "1000000",
  BENCH_DB: "pglite",
};
const targets = [
  { name: "direct, nothing to guard", env: { ...common, DIRECT_RATE_LIMIT_RPS: "0" } },
  { name: "direct+guards memory", env: { ...common, ...guarded } },
  {
    name: "direct+guards redis",
    env: {
      ...common,
      ...guarded,
      UPSTASH_REDIS_REST_URL: bridgeUrl,
      UPSTASH_REDIS_REST_TOKEN: "bench",
    },
  },
].map((target) => ({ ...target, port: freePort() }));
const urlOf = (port: number) => `http://127.0.0.1:${port}/ai-chat-direct`;

const luaScript = await Deno.makeTempFile({ suffix: ".lua" });
await Deno.writeTextFile(
  luaScript,
  [
    `wrk.method = "POST"`,
    `wrk.body = '${body}'`,
    `wrk.headers["Content-Type"] = "application/json"`,
    `wrk.headers["Authorization"] = "Bearer ${keys.userToken}"`,
  ].join("\n"),
);
const loadRequest = (port: number): LoadRequest => ({
  url: urlOf(port),
  init: () => ({
    method: "POST",
    headers: { authorization: `Bearer ${keys.userToken}`, "content-type": "application/json" },
    body,
  }),
});

const withWrk = hasWrk();
const redis = await startRedis();
const processes: { stop(): Promise<unknown> }[] = [];
const runs = new Map<
  string,
  { wrk1: WrkResult[]; wrk32: WrkResult[]; ttfb: number[]; errors: number }
>(
  targets.map((t) => [t.name, { wrk1: [], wrk32: [], ttfb: [], errors: 0 }]),
);
try {
  processes.push(
    await spawn("scripts/bench/canned-openai.ts", { PORT: String(mockPort) }, `${mockUrl}/health`),
    await spawn("scripts/redis/bridge.ts", {}, `${bridgeUrl}/health`, [
      "--redis-port",
      String(redis.port),
      "--port",
      String(bridgePort),
      "--token",
      "bench",
    ]),
  );
  for (const target of targets) {
    processes.push(
      await spawn(
        "scripts/bench/direct-server.ts",
        { ...target.env, PORT: String(target.port) },
        `${urlOf(target.port)}/health`,
      ),
    );
  }
  for (const target of targets) await sampleLoad(loadRequest(target.port), 4, 1, 0.5); // warm every path
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const run = runs.get(target.name)!;
      const sampled = mergeResults([await sampleLoad(loadRequest(target.port), 1, seconds, 0.3)]);
      run.ttfb.push(sampled.firstByteMs.p50);
      run.errors += sampled.errors;
      if (withWrk) {
        run.wrk1.push(await wrk(urlOf(target.port), luaScript, 1));
        run.wrk32.push(await wrk(urlOf(target.port), luaScript, 32));
      }
    }
  }
} finally {
  for (const process of processes) await process.stop();
  await redis.stop();
  await Deno.remove(luaScript);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const base = runs.get(targets[0].name)!;
console.log(
  `ai-chat-direct streams (20-word replies), ${rounds} rounds × ${seconds}s per target, ` +
    `2 cores shared by all processes; load: ${
      withWrk ? "wrk" : "wrk not installed, first-byte samples only"
    }`,
);
console.log(
  "target                      first byte p50 c=1   wrk c=1 p50 / p99 ms   wrk c=32 req/s   errors",
);
for (const target of targets) {
  const run = runs.get(target.name)!;
  const wrk1 = run.wrk1;
  const errors = run.errors + [...run.wrk1, ...run.wrk32].reduce((sum, r) => sum + r.errors, 0);
  console.log(
    `${target.name.padEnd(27)} ${fmt(median(run.ttfb)).padStart(15)} ms   ` +
      `${
        withWrk
          ? `${fmt(median(wrk1.map((r) => r.p50)))} / ${fmt(median(wrk1.map((r) => r.p99)))}`
          : "-"
      }`
        .padStart(20) +
      `   ${withWrk ? fmt(median(run.wrk32.map((r) => r.rps)), 0) : "-"}`.padStart(17) +
      `   ${errors}`.padStart(9),
  );
}
console.log(
  "\nwhat the guards add, against the unguarded function (median of per-round differences):",
);
for (const target of targets.slice(1)) {
  const run = runs.get(target.name)!;
  const perRound = (pick: (i: number) => number) => median(run.ttfb.map((_, i) => pick(i)));
  const line = [
    `  ${target.name.padEnd(22)} first byte +${
      fmt(perRound((i) => run.ttfb[i] - base.ttfb[i]))
    } ms`,
  ];
  if (withWrk) {
    line.push(
      `wrk c=1 p50 +${fmt(perRound((i) => run.wrk1[i].p50 - base.wrk1[i].p50))} ms`,
      `c=32 throughput ${fmt(perRound((i) => run.wrk32[i].rps / base.wrk32[i].rps))}×`,
    );
  }
  console.log(line.join(", "));
}
