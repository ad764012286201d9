/**
 * llm-metrics: counters and histograms after a scripted mix of requests
 * (successes, a stream, a fallback with a retry, a failure, a cache hit, a
 * rate-limit and a budget rejection), the same numbers as Prometheus text
 * (checked with a parser), isolates adding up in one store, each account's
 * own series, the queues' set-aside counter, reset, and who may read what.
 */
import assert from "node:assert/strict";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { testLogger } from "./helpers/logs.ts";
import { createMetricsApp } from "../supabase/functions/llm-metrics/app.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { MetricsRecorder } from "../supabase/functions/_shared/metrics/recorder.ts";
import { readMetrics, resetMetrics } from "../supabase/functions/_shared/metrics/snapshot.ts";
import { READ_FIELDS } from "../supabase/functions/_shared/metrics/hash-ops.ts";
import { METRICS_KEYS } from "../supabase/functions/_shared/metrics/keys.ts";
import { summarize } from "../supabase/functions/_shared/metrics/summary.ts";
import { fieldsOf, type RequestSample } from "../supabase/functions/_shared/metrics/sample.ts";
import { quantileFromBuckets } from "../supabase/functions/_shared/metrics/buckets.ts";
import { faultyModel, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { DEV_JWT_SECRET, signToken } from "./helpers/tokens.ts";
import { readSse } from "./helpers/sse.ts";
import { parsePrometheusText } from "./helpers/prometheus.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

const vocabulary = {
  providers: new Set(["openai", "anthropic"]),
  models: new Set(["gpt-4o-mini", "claude-haiku-4-5"]),
  useCases: new Set(["general", "draft"]),
};

const sample = (extra: Partial<RequestSample> = {}): RequestSample => ({
  provider: "openai",
  model: "gpt-4o-mini",
  useCase: "general",
  outcome: "ok",
  latencyMs: 40,
  inputTokens: 10,
  outputTokens: 5,
  cachedInputTokens: 0,
  costUsd: 0.0001,
  attempts: 1,
  fallbackIndex: 0,
  cached: false,
  ...extra,
});

Deno.test("metrics: quantiles come from the buckets, interpolated inside one", () => {
  // 10 in (0,5], 80 in (5,10], 10 in (10,25]
  const counts = [10, 80, 10, ...Array(11).fill(0)];
  assert.equal(quantileFromBuckets(counts, 0.5), 5 + 5 * (40 / 80));
  assert.equal(quantileFromBuckets(counts, 0.95), 10 + 15 * (5 / 10));
  assert.equal(quantileFromBuckets(Array(14).fill(0), 0.5), undefined);
  const slow = [...Array(13).fill(0), 4];
  assert.equal(quantileFromBuckets(slow, 0.99), 60_000, "the unbounded bucket reads as its floor");
});

Deno.test("metrics: a sample's fields, and the summary of many", () => {
  const fields = fieldsOf(
    sample({ attempts: 3, fallbackIndex: 1, firstTokenMs: 12, overheadMs: 2 }),
  );
  assert.equal(fields.requests, 1);
  assert.equal(fields.retries, 1, "three calls over two targets: one retry");
  assert.equal(fields.fallbacks, 1);
  assert.equal(fields["lat:3"], 1, "40 ms is in the (25, 50] bucket");
  assert.equal(fields["ttft:2"], 1);
  assert.equal(fields.cost_nano, 100_000);
  const summary = summarize(
    ["ok", "ok", "ok", "error"].reduce((all, outcome, i) => {
      const f = fieldsOf(sample({
        outcome: outcome as "ok" | "error",
        errorCode: outcome === "error" ? "TIMEOUT" : undefined,
        latencyMs: 10 * (i + 1),
        reasoningTokens: 2,
      }));
      for (const [k, v] of Object.entries(f)) all[k] = (all[k] ?? 0) + v;
      return all;
    }, {} as Record<string, number>),
  );
  assert.equal(summary.requests, 4);
  assert.equal(summary.successRate, 0.75);
  assert.equal(summary.avgLatency, 25);
  assert.deepEqual(summary.errors, { TIMEOUT: 1 });
  assert.equal(summary.totalTokens, 60);
  assert.equal(summary.reasoningTokens, 8, "reasoning is counted apart, inside the output");
  assert.ok(Math.abs(summary.totalCost - 0.0004) < 1e-12);
  assert.ok(Math.abs(summary.avgCost - 0.0001) < 1e-12);
});

Deno.test("metrics: labels come from closed sets, so odd values cannot add series", async () => {
  const store = new MemoryStateStore();
  const recorder = new MetricsRecorder(store, vocabulary);
  recorder.record(sample({ model: "made-up-model-1" }));
  recorder.record(sample({ model: "made-up-model-2", useCase: "x".repeat(500) }));
  recorder.record(sample({ provider: undefined, model: undefined, useCase: undefined }));
  await recorder.close();
  const { series } = await readMetrics(store);
  assert.deepEqual(
    series.map((s) => `${s.labels.provider}|${s.labels.model}|${s.labels.useCase}`).sort(),
    ["none|none|none", "openai|other|general", "openai|other|other"],
  );
});

Deno.test("metrics: isolates flush in batches and their counts add up in one store", async () => {
  const store = new MemoryStateStore();
  const writes: number[] = [];
  const counting = {
    ...store,
    kind: store.kind,
    get: store.get.bind(store),
    set: store.set.bind(store),
    setIfAbsent: store.setIfAbsent.bind(store),
    delete: store.delete.bind(store),
    run: (...args: Parameters<typeof store.run>) => {
      writes.push(1);
      return store.run(...args);
    },
  } as typeof store;
  const timers = { set: () => 1, clear: () => {} };
  const a = new MetricsRecorder(counting, vocabulary, { batchSize: 5, timers });
  const b = new MetricsRecorder(counting, vocabulary, { batchSize: 5, timers });
  for (let i = 0; i < 4; i++) a.record(sample());
  assert.equal(writes.length, 0, "below the batch size nothing is written");
  a.record(sample());
  await a.flush();
  assert.equal(writes.length, 2, "one add for the series, one for the index");
  for (let i = 0; i < 3; i++) b.record(sample({ outcome: "error", errorCode: "TIMEOUT" }));
  await Promise.all([a.close(), b.close()]);
  const { series } = await readMetrics(store);
  const totals = summarize(series[0].counts);
  assert.equal(totals.requests, 8);
  assert.equal(totals.successes, 5);
  assert.deepEqual(totals.errors, { TIMEOUT: 3 });
});

Deno.test("metrics: each request also counts in its account's series; odd account ids make none", async () => {
  const store = new MemoryStateStore();
  const recorder = new MetricsRecorder(store, vocabulary);
  recorder.record(sample({ accountId: ACCOUNT_A }));
  recorder.record(sample({ accountId: ACCOUNT_A, outcome: "error", errorCode: "TIMEOUT" }));
  recorder.record(sample({ accountId: ACCOUNT_B }));
  recorder.record(sample({ accountId: "acct:with|odd*chars" }));
  recorder.record(sample());
  await recorder.close();
  const total = async (accountId?: string) =>
    summarize((await readMetrics(store, accountId)).series[0]?.counts ?? {}).requests;
  assert.equal(await total(), 5);
  assert.equal(await total(ACCOUNT_A), 2);
  assert.equal(await total(ACCOUNT_B), 1);
  assert.deepEqual(
    Object.keys(await store.run(READ_FIELDS, METRICS_KEYS.accounts, [])).sort(),
    [ACCOUNT_A, ACCOUNT_B],
  );
  await resetMetrics(store, Date.now());
  assert.equal(await total(), 0);
  assert.equal(await total(ACCOUNT_A), 0);
});

async function metricsWorld() {
  const database = await freshDb();
  const store = new MemoryStateStore();
  const env = {
    LLM_MODELS: JSON.stringify([
      faultyModel("gpt-4o-mini", "status=503"),
    ]),
    LLM_OVERRIDE_FALLBACK: "false",
    LLM_MAX_RETRIES: "1",
    LLM_RATE_LIMIT_RPS: "0.01",
    LLM_RATE_LIMIT_BURST: "7",
  };
  const router = await routerHttpWorld(env, { db: database.db, store });
  const metrics = createMetricsApp({
    env: mapEnv({
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      ...env,
    }),
    log: testLogger("llm-metrics"),
    store,
    db: database.db,
  });
  const token = (account: string, role: string) =>
    signToken({ sub: crypto.randomUUID(), app_metadata: { account_id: account, role } });
  return {
    router,
    store,
    db: database.db,
    memberA: await token(ACCOUNT_A, "member"),
    adminA: await token(ACCOUNT_A, "admin"),
    memberB: await token(ACCOUNT_B, "member"),
    adminB: await token(ACCOUNT_B, "admin"),
    metrics: (path = "", init: RequestInit = {}, token?: string) =>
      metrics(
        new Request(`http://127.0.0.1/functions/v1/llm-metrics${path}`, {
          ...init,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
        }),
      ),
    async close() {
      await router.settle();
      await router.close();
      await database.close();
    },
  };
}

Deno.test("llm-metrics: a scripted mix of requests shows up in JSON and in Prometheus text alike", async () => {
  const t = await metricsWorld();
  try {
    const ask = (body: Record<string, unknown>, token = t.memberA) =>
      t.router.post("", { maxTokens: 20, ...body }, token);
    const statuses: number[] = [];
    const track = async (response: Promise<Response>) => {
      const answer = await response;
      statuses.push(answer.status);
      await answer.body?.cancel();
    };
    await track(ask({ prompt: "one" }));
    await track(ask({ prompt: "two" }));
    // A stream: time to first token is recorded.
    const streamed = await ask({ prompt: "three", stream: true });
    statuses.push(streamed.status);
    await readSse(streamed);
    // A retry then a fallback: the agent's faulty model fails twice, its fallback serves.
    await fetch(`${t.router.url}/agents/writer/preferences`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.memberA}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini::status=503", fallbacks: ["claude-haiku-4-5"] }),
    }).then((r) => r.body?.cancel());
    await track(ask({ prompt: "four", agentId: "writer" }));
    // A failure: the same faulty model as an override, which may not fall back here.
    await track(ask({ prompt: "five", modelOverride: "gpt-4o-mini::status=503" }));
    // A cache miss, then a hit.
    await track(ask({ prompt: "six", cache: true }));
    await t.router.settle();
    await track(ask({ prompt: "six", cache: true }));
    // Account B spends its tiny budget, then is refused.
    await fetch(`${t.router.url}/budgets`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.adminB}`, "content-type": "application/json" },
      body: JSON.stringify({ dailyLimitUsd: 0.0000001 }),
    }).then((r) => r.body?.cancel());
    await track(ask({ prompt: "seven" }, t.memberB));
    await t.router.settle();
    await track(ask({ prompt: "eight" }, t.memberB));
    // A's eighth request is past its burst of 7.
    await track(ask({ prompt: "nine" }));
    assert.deepEqual(statuses, [200, 200, 200, 200, 502, 200, 200, 200, 402, 429]);
    await t.router.settle();

    // The platform view (a server key): both accounts' requests.
    const response = await t.metrics("", {}, SERVICE_KEY);
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.accountId, null);
    const all = body.aggregated;
    assert.equal(all.requests, 10);
    assert.equal(all.successes, 7);
    assert.equal(all.failures, 3);
    assert.deepEqual(all.errors, {
      MAX_RETRIES_EXCEEDED: 1,
      PAYMENT_REQUIRED: 1,
      RATE_LIMIT_EXCEEDED: 1,
    });
    assert.deepEqual(all.rejections, { rateLimit: 1, budget: 1 });
    assert.equal(all.cacheHits, 1);
    assert.equal(all.fallbacks, 1);
    assert.equal(all.retries, 2, "the faulty model's second call, in both requests");
    assert.ok(all.totalTokens > 0 && all.totalCost > 0);
    assert.ok(all.p95Latency > 0 && all.p95Latency >= all.p50Latency);
    assert.ok(all.avgTimeToFirstToken > 0, "the stream's first token");
    assert.ok(all.avgOverhead !== null);
    assert.ok(body.uptime >= 0 && typeof body.timestamp === "string");
    const openai = body.metrics.find((m: { provider: string }) => m.provider === "openai");
    assert.ok(openai.requests >= 6);
    assert.ok(openai.successRate > 0 && openai.successRate < 1);
    assert.ok(openai.models.some((m: { model: string }) => m.model === "gpt-4o-mini::status=503"));
    const none = body.metrics.find((m: { provider: string }) => m.provider === "none");
    assert.equal(none.rejections.rateLimit, 1, "a refusal at the door has no provider");
    assert.ok(body.circuits.some((c: { model: string }) => c.model === "gpt-4o-mini"));

    const text = await (await t.metrics("?format=prometheus", {}, SERVICE_KEY)).text();
    const families = parsePrometheusText(text);
    const family = (name: string) => families.find((f) => f.name === name)!;
    for (const f of families) {
      assert.ok(f.help && f.type !== "untyped", `${f.name} has HELP and TYPE`);
    }
    const sum = (name: string) => family(name).samples.reduce((total, m) => total + m.value, 0);
    assert.equal(sum("llm_requests_total"), 10);
    assert.equal(sum("llm_cache_hits_total"), 1);
    assert.equal(sum("llm_rejections_total"), 2);
    const histogram = family("llm_request_duration_seconds");
    assert.equal(histogram.type, "histogram");
    const seriesOf = (labels: Record<string, string>) =>
      JSON.stringify([labels.provider, labels.model, labels.use_case]);
    const counts = histogram.samples.filter((m) => m.name.endsWith("_count"));
    for (const count of counts) {
      const buckets = histogram.samples.filter((m) =>
        m.name.endsWith("_bucket") && seriesOf(m.labels) === seriesOf(count.labels)
      );
      const values = buckets.map((b) => b.value);
      assert.deepEqual(values, [...values].sort((a, b) => a - b), "buckets are cumulative");
      assert.equal(buckets.at(-1)!.labels.le, "+Inf");
      assert.equal(buckets.at(-1)!.value, count.value);
    }
    assert.equal(counts.reduce((n, m) => n + m.value, 0), 10);
    assert.ok(family("llm_time_to_first_token_seconds"));
    assert.ok(family("llm_circuit_state"));
    assert.ok(family("llm_uptime_seconds"));
    assert.ok(Math.abs(sum("llm_cost_usd_total") - all.totalCost) < 1e-9);
    // Scrapers ask with Accept: text/plain.
    const scraped = await t.metrics(
      "",
      { headers: { accept: "text/plain;version=0.0.4" } },
      SERVICE_KEY,
    );
    assert.match(scraped.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    await scraped.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("llm-metrics: 401 without credentials, 403 for a member, 200 for admins and server keys", async () => {
  const t = await metricsWorld();
  try {
    await (await t.router.post("", { prompt: "hi" }, t.memberA)).body?.cancel();
    await t.router.settle();
    const anonymous = await t.metrics();
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error.code, "AUTH_MISSING");
    const member = await t.metrics("", {}, t.memberA);
    assert.equal(member.status, 403);
    await member.body?.cancel();
    const admin = await t.metrics("", {}, t.adminA);
    assert.equal((await admin.json()).aggregated.requests, 1);
    const service = await t.metrics("", {}, SERVICE_KEY);
    assert.equal((await service.json()).aggregated.requests, 1);
  } finally {
    await t.close();
  }
});

Deno.test("llm-metrics: only server keys may reset, which starts every account's counts over", async () => {
  const t = await metricsWorld();
  try {
    await (await t.router.post("", { prompt: "hi" }, t.memberA)).body?.cancel();
    await t.router.settle();
    // The admin of a freshly minted account that has nothing to do with A.
    const stranger = await signToken({
      sub: crypto.randomUUID(),
      app_metadata: { account_id: crypto.randomUUID(), role: "admin" },
    });
    for (const token of [stranger, t.adminA, t.memberA]) {
      const refused = await t.metrics("/reset", { method: "POST" }, token);
      assert.equal(refused.status, 403);
      assert.equal((await refused.json()).error.code, "FORBIDDEN");
    }
    const kept = await (await t.metrics("", {}, SERVICE_KEY)).json();
    assert.equal(kept.aggregated.requests, 1, "a refused reset zeroed nothing");

    const reset = await t.metrics("/reset", { method: "POST" }, SERVICE_KEY);
    assert.equal(reset.status, 200);
    await reset.body?.cancel();
    const after = await (await t.metrics("", {}, SERVICE_KEY)).json();
    assert.equal(after.aggregated.requests, 0);
    assert.deepEqual(after.metrics, []);
    const afterA = await (await t.metrics("", {}, t.adminA)).json();
    assert.equal(afterA.aggregated.requests, 0, "the account's own counts start over too");
  } finally {
    await t.close();
  }
});

Deno.test("llm-metrics: each account's admin sees only that account's totals; a server key sees the sum", async () => {
  const t = await metricsWorld();
  try {
    for (const prompt of ["a1", "a2", "a3"]) {
      await (await t.router.post("", { prompt }, t.memberA)).body?.cancel();
    }
    await (await t.router.post("", { prompt: "b1" }, t.memberB)).body?.cancel();
    await t.router.settle();

    const read = async (token: string, query = "") => {
      const response = await t.metrics(query, {}, token);
      assert.equal(response.status, 200);
      return await response.json();
    };
    const a = await read(t.adminA);
    assert.equal(a.accountId, ACCOUNT_A);
    assert.equal(a.aggregated.requests, 3);
    assert.equal(a.queues, undefined, "the queues are the platform's, not a tenant's");
    assert.ok(a.circuits.some((c: { model: string }) => c.model === "gpt-4o-mini"));
    const b = await read(t.adminB);
    assert.equal(b.accountId, ACCOUNT_B);
    assert.equal(b.aggregated.requests, 1);
    assert.equal((await read(SERVICE_KEY)).aggregated.requests, 4);
    assert.equal((await read(SERVICE_KEY, `?accountId=${ACCOUNT_B}`)).aggregated.requests, 1);

    // An admin naming another account is refused, and a bad id is a 400.
    const other = await t.metrics(`?accountId=${ACCOUNT_B}`, {}, t.adminA);
    assert.equal(other.status, 403);
    await other.body?.cancel();
    const bad = await t.metrics("?accountId=not-a-uuid", {}, SERVICE_KEY);
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.field, "accountId");

    // Prometheus text is scoped the same way.
    const requestsIn = async (token: string) => {
      const text = await (await t.metrics("?format=prometheus", {}, token)).text();
      const families = parsePrometheusText(text);
      assert.equal(
        families.find((f) => f.name === "llm_queue_rows_set_aside_total"),
        undefined,
        "no platform counters in a tenant's exposition",
      );
      return families.find((f) => f.name === "llm_requests_total")!.samples
        .reduce((total, m) => total + m.value, 0);
    };
    assert.equal(await requestsIn(t.adminA), 3);
    assert.equal(await requestsIn(t.adminB), 1);
  } finally {
    await t.close();
  }
});

Deno.test("llm-metrics: rows the usage and audit queues set aside are a platform counter, in JSON and Prometheus", async () => {
  const t = await metricsWorld();
  try {
    const recorder = new MetricsRecorder(t.store, vocabulary);
    recorder.countSetAside("usage", 3);
    recorder.countSetAside("usage", 2);
    recorder.countSetAside("audit", 1);
    await recorder.close();
    const other = new MetricsRecorder(t.store, vocabulary);
    other.countSetAside("usage", 1);
    await other.close();

    const json = await (await t.metrics("", {}, SERVICE_KEY)).json();
    assert.deepEqual(json.queues, { usage: { setAside: 6 }, audit: { setAside: 1 } });

    const text = await (await t.metrics("?format=prometheus", {}, SERVICE_KEY)).text();
    const family = parsePrometheusText(text).find((f) =>
      f.name === "llm_queue_rows_set_aside_total"
    )!;
    assert.equal(family.type, "counter");
    assert.ok(family.help);
    assert.deepEqual(
      family.samples.map((m) => [m.labels.queue, m.value]).sort(),
      [["audit", 1], ["usage", 6]],
    );
  } finally {
    await t.close();
  }
});

Deno.test("llm-metrics: a service_role token signed with the JWT secret is not a server key", async () => {
  const t = await metricsWorld();
  try {
    const minted = await signToken({ role: "service_role", sub: undefined });
    for (const [path, init] of [["", {}], ["/reset", { method: "POST" }]] as const) {
      const response = await t.metrics(path, init, minted);
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error.code, "AUTH_SERVICE_TOKEN_NOT_KEY");
    }
  } finally {
    await t.close();
  }
});

Deno.test("llm-metrics: an account's budget status, for its admins only", async () => {
  const t = await metricsWorld();
  try {
    await fetch(`${t.router.url}/budgets`, {
      method: "PUT",
      headers: { authorization: `Bearer ${t.adminA}`, "content-type": "application/json" },
      body: JSON.stringify({ dailyLimitUsd: 0.00002, monthlyLimitUsd: 1, alertThreshold: 0.5 }),
    }).then((r) => r.body?.cancel());
    await (await t.router.post("", { prompt: "spend some" }, t.memberA)).body?.cancel();
    await t.router.settle();
    assert.equal((await t.metrics(`/budgets/${ACCOUNT_A}`, {}, t.memberA)).status, 403);
    assert.equal((await t.metrics(`/budgets/${ACCOUNT_A}`, {}, t.adminB)).status, 403);
    const status = await (await t.metrics(`/budgets/${ACCOUNT_A}`, {}, t.adminA)).json();
    const daily = status.budgets.find((b: { period: string }) => b.period === "daily");
    const monthly = status.budgets.find((b: { period: string }) => b.period === "monthly");
    assert.ok(daily.usedUsd > 0);
    assert.equal(daily.limitUsd, 0.00002);
    assert.ok(daily.percentage > 50);
    assert.equal(daily.alerted, true, "past its 50% threshold");
    assert.equal(monthly.alerted, false);
    assert.equal(
      (await t.metrics(`/budgets/not-a-uuid`, {}, SERVICE_KEY)).status,
      400,
    );
    const malformed = await t.metrics(`/budgets/%ZZ`, {}, SERVICE_KEY);
    assert.equal(malformed.status, 400, "malformed percent-encoding is the caller's mistake");
    assert.equal((await malformed.json()).error.code, "VALIDATION_ERROR");
  } finally {
    await t.close();
  }
});
