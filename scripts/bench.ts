/**
 * `deno task bench`: what the gateway costs, measured against a bare proxy in
 * the same run.
 *
 *   - A canned upstream answers precomputed bytes (scripts/bench/canned-upstream.ts);
 *     its own rate is printed beside the bare proxy's, and when it is not
 *     clearly faster (≥ 1.2×) the ratios are declared void: they would
 *     measure the upstream.
 *   - A bare Deno pass-through proxy in front of it is the baseline.
 *   - llm-router's `/v1/chat/completions` with every guard on, in the memory
 *     store: a rate limit high enough never to refuse, a per-model ceiling
 *     and an account budget (held and settled per request, usage rows
 *     written to a real PostgreSQL), as deployed.
 *   - ai-chat-direct with its guards on (streams only).
 *   - With BENCH_STORES=memory,redis,postgres the router again with its
 *     state in Redis (redis-server behind the local Upstash REST bridge) and
 *     in the PostgreSQL (LLM_STATE_STORE=postgres), and each store's cost
 *     against the memory store.
 *
 * Load comes from `wrk` (throughput, latency) and `curl` (time to first
 * byte), never from Deno. Targets take turns in short rounds so the
 * machine's drift hits them alike; a ratio is the median of the per-round
 * ratios. Then: each function's first answer in a fresh process against a
 * hello-world `Deno.serve`'s, and the router's peak RSS under c=32 with
 * V8's old space capped at 128 MB against the bare proxy's.
 *
 * Settings: BENCH_SECONDS (per round, default 3), BENCH_ROUNDS (default 3),
 * BENCH_STORES (default `memory`). Traffic stays on 127.0.0.1 and stops by itself.
 */
import { LOCAL_ACCOUNT_ID, LOCAL_JWT_SECRET, localKeys } from "./dev/local-keys.ts";
import { freePort } from "./test/system.ts";
import { startPostgres } from "./test/postgres.ts";
import { startRedis, type TestRedis } from "./test/redis.ts";
import { applyMigrations } from "./db/migrate.ts";
import { postgresDb } from "../supabase/functions/_shared/store/postgres-db.ts";
import {
  type BenchRequest,
  ensureLoadTools,
  firstByteTimes,
  runWrk,
  type WrkResult,
  wrkScript,
} from "./bench/wrk.ts";
import { type BenchProcess, firstAnswerMs, peakRssMb, startDeno } from "./bench/processes.ts";

const seconds = Number(Deno.env.get("BENCH_SECONDS") ?? 3);
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const stores = (Deno.env.get("BENCH_STORES") ?? "memory").split(",").map((s) => s.trim());
const MODEL = "gpt-4o-mini";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const url = (port: number, path = "") => `http://127.0.0.1:${port}${path}`;

await ensureLoadTools();
const keys = await localKeys();
const processes: BenchProcess[] = [];
const postgres = await startPostgres();
let redis: TestRedis | undefined;
const cleanup: (() => Promise<unknown>)[] = [];

try {
  // The database a deployment has: migrations, seed, and a budget the load never spends.
  const db = postgresDb(postgres.url, { max: 1 });
  await applyMigrations(db, { seed: true });
  await db.query(
    "insert into llm_budgets (account_id, daily_limit_usd, monthly_limit_usd) values ($1, 1000000, 10000000)",
    [LOCAL_ACCOUNT_ID],
  );
  await db.close();

  const upstreamPort = freePort();
  const proxyPort = freePort();
  processes.push(
    await startDeno(
      "scripts/bench/canned-upstream.ts",
      { PORT: String(upstreamPort) },
      url(upstreamPort),
    ),
    await startDeno(
      "scripts/bench/bare-proxy.ts",
      { UPSTREAM: url(upstreamPort), PORT: String(proxyPort) },
      url(proxyPort, "/health"),
    ),
  );

  /** A function's env as deployed: keys, database, and every guard on. */
  const functionEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    OPENAI_API_KEY: "sk-bench-key",
    OPENAI_BASE_URL: url(upstreamPort, "/v1"),
    SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
    SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
    SUPABASE_DB_URL: postgres.url,
    LLM_RATE_LIMIT_RPS: "1000000",
    LLM_RATE_LIMIT_BURST: "1000000",
    LLM_MODEL_RATE_LIMITS: JSON.stringify({ [MODEL]: { rpm: 1e9, tpm: 1e12 } }),
    DIRECT_RATE_LIMIT_RPS: "1000000",
    DIRECT_RATE_LIMIT_BURST: "1000000",
    // Named, not `auto`: with SUPABASE_DB_URL set, auto would put the state in Postgres.
    LLM_STATE_STORE: "memory",
    ...extra,
  });
  const startFunction = async (name: string, env: Record<string, string>, flags: string[] = []) => {
    const port = freePort();
    const process = await startDeno(
      "scripts/bench/function-server.ts",
      { ...env, PORT: String(port) },
      url(port, `/functions/v1/${name}/health`),
      { args: [name], denoFlags: flags },
    );
    processes.push(process);
    return { port, process };
  };

  const routers: Record<string, number> = {};
  for (const store of stores) {
    let extra: Record<string, string> = {};
    if (store === "redis") {
      redis = await startRedis();
      const bridgePort = freePort();
      processes.push(
        await startDeno("scripts/redis/bridge.ts", {}, url(bridgePort, "/health"), {
          args: [
            "--redis-port",
            String(redis.port),
            "--port",
            String(bridgePort),
            "--token",
            "bench",
          ],
        }),
      );
      extra = {
        LLM_STATE_STORE: "upstash",
        UPSTASH_REDIS_REST_URL: url(bridgePort),
        UPSTASH_REDIS_REST_TOKEN: "bench",
      };
    } else if (store !== "memory") {
      extra = { LLM_STATE_STORE: store };
    }
    routers[store] = (await startFunction("llm-router", functionEnv(extra))).port;
  }
  const direct = (await startFunction("ai-chat-direct", functionEnv())).port;
  // The same function with nothing to guard: no database, no rate limit. The difference is
  // what the direct path's guards (bucket, budget hold and settle, usage row, metrics) cost.
  const { SUPABASE_DB_URL: _db, ...unguardedEnv } = functionEnv({ DIRECT_RATE_LIMIT_RPS: "0" });
  const directBare = (await startFunction("ai-chat-direct", unguardedEnv)).port;

  const auth = { authorization: `Bearer ${keys.userToken}`, "content-type": "application/json" };
  const chatBody = (stream: boolean) =>
    JSON.stringify({
      model: MODEL,
      messages: [
        { role: "system", content: "You are a benchmark." },
        { role: "user", content: "Hello, benchmark" },
      ],
      max_tokens: 100,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
  const openAI = (port: number, path: string, stream: boolean, headers = auth): BenchRequest => ({
    url: url(port, path),
    headers,
    body: chatBody(stream),
  });
  const upstreamHeaders = {
    authorization: "Bearer sk-bench-key",
    "content-type": "application/json",
  };

  type Target = { name: string; request: (stream: boolean) => BenchRequest | undefined };
  type Measured = Target & {
    bench: BenchRequest;
    script: string;
    runs: WrkResult[];
    ttfb: number[];
  };
  const targets: Target[] = [
    {
      name: "canned upstream",
      request: (s) => openAI(upstreamPort, "/v1/chat/completions", s, upstreamHeaders),
    },
    {
      name: "bare proxy",
      request: (s) => openAI(proxyPort, "/v1/chat/completions", s, upstreamHeaders),
    },
    ...stores.map((store) => ({
      name: `llm-router (${store})`,
      request: (s: boolean) =>
        openAI(routers[store], "/functions/v1/llm-router/v1/chat/completions", s),
    })),
    ...[["ai-chat-direct", direct], ["ai-chat-direct unguarded", directBare]].map((
      [name, port],
    ) => ({
      name: name as string,
      request: (s: boolean) =>
        s
          ? {
            url: url(port as number, "/functions/v1/ai-chat-direct"),
            headers: auth,
            body: JSON.stringify({
              messages: [{ role: "user", content: "Hello, benchmark" }],
              maxTokens: 100,
            }),
          }
          : undefined,
    })),
  ];

  // Warm every path (JIT, caches, pools) before anything is measured.
  for (const target of targets) {
    for (const stream of [false, true]) {
      const request = target.request(stream);
      if (!request) continue;
      const script = await wrkScript(request);
      await runWrk(request.url, script, 8, 1);
      await Deno.remove(script);
    }
  }

  console.log(
    `chat completions, 20-word replies, ${rounds} rounds × ${seconds} s per target; ` +
      "wrk -t1 for load, curl for first byte; 2 cores shared by every process",
  );
  console.log("mode    target                   conc    req/s   p50 ms   p99 ms  ttfb p50  errors");
  const summary: string[] = [];
  for (const stream of [false, true]) {
    for (const connections of [1, 32]) {
      const scenario: Measured[] = [];
      for (const target of targets) {
        const request = target.request(stream);
        if (request) {
          scenario.push({
            ...target,
            bench: request,
            script: await wrkScript(request),
            runs: [] as WrkResult[],
            ttfb: [] as number[],
          });
        }
      }
      for (let round = 0; round < rounds; round++) {
        for (const target of scenario) {
          target.runs.push(await runWrk(target.bench.url, target.script, connections, seconds));
          if (stream && connections === 1) {
            target.ttfb.push(median(await firstByteTimes(target.bench, 100)));
          }
        }
      }
      for (const target of scenario) await Deno.remove(target.script);
      const baseline = scenario.find((t) => t.name === "bare proxy")!;
      const upstream = scenario.find((t) => t.name === "canned upstream")!;
      const mode = stream ? "stream" : "json";
      for (const target of scenario) {
        console.log(
          `${mode.padEnd(7)} ${target.name.padEnd(24)} ${String(connections).padStart(4)} ` +
            `${fmt(median(target.runs.map((r) => r.rps)), 0).padStart(8)} ` +
            `${fmt(median(target.runs.map((r) => r.p50))).padStart(8)} ` +
            `${fmt(median(target.runs.map((r) => r.p99))).padStart(8)} ` +
            `${(target.ttfb.length ? fmt(median(target.ttfb)) : "").padStart(9)} ` +
            `${String(target.runs.reduce((sum, r) => sum + r.errors, 0)).padStart(7)}`,
        );
      }
      const perRound = (
        target: Measured,
        of: (r: WrkResult, b: WrkResult) => number,
      ) => median(target.runs.map((run, i) => of(run, baseline.runs[i])));
      const upstreamLead = perRound(upstream, (r, b) => r.rps / b.rps);
      summary.push(
        `${mode} c=${connections}: canned upstream ${fmt(upstreamLead)}× the bare proxy's req/s` +
          (upstreamLead < 1.2
            ? " — under 1.2×: the upstream limits the baseline, ratios VOID"
            : ""),
      );
      for (const target of scenario) {
        if (target === baseline || target === upstream) continue;
        const parts = [`req/s ${fmt(perRound(target, (r, b) => r.rps / b.rps))}× the bare proxy`];
        if (connections === 1) {
          parts.push(`added p50 ${fmt(perRound(target, (r, b) => r.p50 - b.p50))} ms`);
        }
        if (target.ttfb.length) {
          parts.push(
            `added first byte ${fmt(median(target.ttfb.map((t, i) => t - baseline.ttfb[i])))} ms`,
          );
        }
        summary.push(`  ${target.name.padEnd(22)} ${parts.join(", ")}`);
      }
      const guarded = scenario.find((t) => t.name === "ai-chat-direct");
      const unguarded = scenario.find((t) => t.name === "ai-chat-direct unguarded");
      if (guarded && unguarded) {
        summary.push(
          `  ai-chat-direct's guards: req/s ${
            fmt(median(guarded.runs.map((r, i) => r.rps / unguarded.runs[i].rps)))
          }× unguarded` +
            (guarded.ttfb.length
              ? `, added first byte ${
                fmt(median(guarded.ttfb.map((t, i) => t - unguarded.ttfb[i])))
              } ms`
              : ""),
        );
      }
      if (stores.length > 1) {
        const memory = scenario.find((t) => t.name === "llm-router (memory)")!;
        for (
          const target of scenario.filter((t) => t.name.startsWith("llm-router (") && t !== memory)
        ) {
          summary.push(
            `  ${target.name} against memory: req/s ${
              fmt(median(target.runs.map((r, i) => r.rps / memory.runs[i].rps)))
            }×, added p50 ${fmt(median(target.runs.map((r, i) => r.p50 - memory.runs[i].p50)))} ms`,
          );
        }
      }
    }
  }
  console.log(`\nratios (median of per-round ratios, same run):\n${summary.join("\n")}`);

  // A fresh process: start to first answer, hello-world Deno.serve against each function.
  const chat = (port: number) => ({
    url: url(port, "/functions/v1/llm-router/v1/chat/completions"),
    init: { method: "POST", headers: auth, body: chatBody(false) },
  });
  const fresh: Record<string, number[]> = { hello: [], "llm-router": [], "ai-chat-direct": [] };
  for (let i = 0; i < 3; i++) {
    const port = freePort();
    fresh.hello.push(
      await firstAnswerMs("scripts/bench/hello.ts", { PORT: String(port) }, {
        url: url(port),
        init: {},
      }),
    );
    const routerPort = freePort();
    fresh["llm-router"].push(
      await firstAnswerMs(
        "scripts/bench/function-server.ts",
        { ...functionEnv(), PORT: String(routerPort) },
        chat(routerPort),
        ["llm-router"],
      ),
    );
    const directPort = freePort();
    fresh["ai-chat-direct"].push(
      await firstAnswerMs(
        "scripts/bench/function-server.ts",
        { ...functionEnv(), PORT: String(directPort) },
        {
          url: url(directPort, "/functions/v1/ai-chat-direct"),
          init: {
            method: "POST",
            headers: auth,
            body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
          },
        },
        ["ai-chat-direct"],
      ),
    );
  }
  const hello = median(fresh.hello);
  console.log(
    `\nfirst answer in a fresh process (median of 3): hello-world Deno.serve ${fmt(hello, 0)} ms`,
  );
  for (const name of ["llm-router", "ai-chat-direct"]) {
    const ms = median(fresh[name]);
    console.log(`  ${name.padEnd(15)} ${fmt(ms, 0)} ms = ${fmt(ms / hello)}× hello-world`);
  }

  // Memory under load with V8's old space capped as an isolate's would be.
  const capped = await startFunction("llm-router", functionEnv(), [
    "--v8-flags=--max-old-space-size=128",
  ]);
  const proxyScript = await wrkScript(
    openAI(proxyPort, "/v1/chat/completions", true, upstreamHeaders),
  );
  cleanup.push(() => Deno.remove(proxyScript));
  const proxyProcess = processes[1];
  for (const body of [false, true]) {
    const request = openAI(capped.port, "/functions/v1/llm-router/v1/chat/completions", body);
    const script = await wrkScript(request);
    await runWrk(request.url, script, 32, seconds * 2);
    await Deno.remove(script);
  }
  await runWrk(url(proxyPort, "/v1/chat/completions"), proxyScript, 32, seconds * 2);
  const routerPeak = peakRssMb(capped.process.pid);
  const proxyPeak = peakRssMb(proxyProcess.pid);
  console.log(
    `\npeak RSS under c=32 (JSON then stream, ${
      seconds * 2
    } s each), router with --max-old-space-size=128: ` +
      `${fmt(routerPeak, 0)} MB (${capped.process.alive() ? "alive" : "CRASHED"}), ` +
      `bare proxy ${fmt(proxyPeak, 0)} MB: ${fmt(routerPeak / proxyPeak)}× the proxy's`,
  );
} finally {
  for (const work of cleanup) await work().catch(() => {});
  for (const process of processes) await process.stop();
  await redis?.stop();
  await postgres.stop();
}
