/**
 * llm-health tells the truth: its root answers the providers report (the
 * seed's contract), 200 only when all are healthy; liveness (`/live`) touches
 * nothing; provider checks ping
 * each configured provider's cheapest chat model once, report failures with
 * sanitized errors, are reused while fresh and shared by every isolate
 * through the store (one check at a time across isolates); an open circuit
 * counts as unhealthy without a ping; readiness checks the database and the
 * store; only the scheduler may force a check; and no key ever shows.
 */
import assert from "node:assert/strict";
import { type MockProvider, startMockProvider } from "../scripts/mock-provider.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { testLogger } from "./helpers/logs.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import { createRouterFromEnv } from "../supabase/functions/_shared/router-env/from-env.ts";
import { StoreCircuitBreakers } from "../supabase/functions/_shared/guards/store-breakers.ts";
import { healthErrorText } from "../supabase/functions/_shared/health/error-text.ts";
import type { Db } from "../supabase/functions/_shared/store/db.ts";
import {
  MemoryStateStore,
  type StateStore,
} from "../supabase/functions/_shared/store/state-store.ts";
import { UpstashStateStore } from "../supabase/functions/_shared/store/upstash-store.ts";
import { createHealthApp, type HealthAppDeps } from "../supabase/functions/llm-health/index.ts";
import { freePort } from "./helpers/process.ts";
import { freshDb } from "./helpers/test-db.ts";
import { testUpstash, uniquePrefix } from "./helpers/test-upstash.ts";
import { DEV_JWT_SECRET, signToken } from "./helpers/tokens.ts";

const OPENAI_KEY = "sk-test-health-openai-0123456789";
const ANTHROPIC_KEY = "sk-ant-test-health-0123456789";
const SERVICE_KEY = "service-role-key-for-health-tests-0123456789";
const JOB_SECRET = "job-secret-for-health-tests-0123456789";
const SECRETS = [OPENAI_KEY, ANTHROPIC_KEY, SERVICE_KEY, JOB_SECRET];
const BASE = "http://127.0.0.1:54321/functions/v1/llm-health";

/** Two mock providers (one per protocol), so one can fail while the other answers. */
interface Mocks {
  openai: MockProvider;
  anthropic: MockProvider;
  close(): Promise<void>;
}

async function startMocks(): Promise<Mocks> {
  const [openai, anthropic] = await Promise.all([startMockProvider(), startMockProvider()]);
  return {
    openai,
    anthropic,
    close: async () => void await Promise.all([openai.close(), anthropic.close()]),
  };
}

/** One llm-health instance (an isolate) over the mocks, with its logs and every body it sent. */
interface HealthInstance {
  // deno-lint-ignore no-explicit-any
  call(path: string, init?: RequestInit): Promise<{ status: number; json: any }>;
  logs: string[];
  bodies: string[];
}

function healthInstance(
  mocks: Mocks,
  env: Record<string, string | undefined> = {},
  deps: Partial<HealthAppDeps> = {},
): HealthInstance {
  const logs: string[] = [];
  const bodies: string[] = [];
  const app = createHealthApp({
    env: mapEnv({
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: mocks.openai.openaiBaseUrl,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      ANTHROPIC_BASE_URL: mocks.anthropic.anthropicBaseUrl,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      LLM_JOB_SECRET: JOB_SECRET,
      // Tests refresh right after a change; production keeps a floor between forced pings.
      LLM_HEALTH_MIN_REFRESH_SECONDS: "0",
      ...env,
    }),
    log: testLogger("llm-health", logs),
    ...deps,
  });
  return {
    logs,
    bodies,
    async call(path, init) {
      const response = await app(new Request(`${BASE}${path}`, init));
      const text = await response.text();
      bodies.push(text);
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    },
  };
}

/** No key, service key or job secret in anything an instance said or logged. */
function assertNoSecrets(...instances: HealthInstance[]): void {
  for (const instance of instances) {
    for (const text of [...instance.bodies, ...instance.logs]) {
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `leaked in: ${text}`);
    }
  }
}

// deno-lint-ignore no-explicit-any
const byName = (json: any, name: string) => json.providers.find((p: any) => p.provider === name);

/** A report without its answer time, to compare two answers built from the same checks. */
// deno-lint-ignore no-explicit-any
const checksOf = ({ timestamp: _, ...rest }: any) => rest;

/** Upstash env on a fresh key prefix of the suite's Redis (or one started for this file). */
async function upstashEnv() {
  const endpoint = await testUpstash();
  const prefix = uniquePrefix();
  return {
    endpoint,
    prefix,
    env: {
      UPSTASH_REDIS_REST_URL: endpoint.url,
      UPSTASH_REDIS_REST_TOKEN: endpoint.token,
      LLM_REDIS_PREFIX: prefix,
    },
  };
}

/** A store that counts every call, to prove a path touches nothing. */
function countingStore(calls: string[]): StateStore {
  const inner = new MemoryStateStore();
  const seen = <T>(call: string, result: T): T => {
    calls.push(call);
    return result;
  };
  return {
    kind: "memory",
    get: (key) => seen(`get ${key}`, inner.get(key)),
    set: (key, value, ttl) => seen(`set ${key}`, inner.set(key, value, ttl)),
    setIfAbsent: (key, value, ttl) => seen(`nx ${key}`, inner.setIfAbsent(key, value, ttl)),
    delete: (...keys) => seen(`del ${keys}`, inner.delete(...keys)),
    run: (op, key, args) => seen(`run ${key}`, inner.run(op, key, args)),
  };
}

Deno.test("probe: pings a provider's cheapest chat model with one token, once, and never moves a circuit", async () => {
  const mocks = await startMocks();
  try {
    const store = new MemoryStateStore();
    const policy = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
    const router = createRouterFromEnv(
      mapEnv({
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: mocks.openai.openaiBaseUrl,
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL: mocks.anthropic.anthropicBaseUrl,
      }),
      { breakers: () => new StoreCircuitBreakers(store, policy) },
    );

    const ok = await router.probe("openai");
    assert.equal(ok.model, "gpt-4.1-nano");
    assert.ok(ok.latencyMs >= 0);
    const [request] = mocks.openai.requests;
    const body = request.body as Record<string, unknown>;
    assert.equal(request.model, "gpt-4.1-nano");
    assert.deepEqual(body.messages, [{ role: "user", content: "ping" }]);
    assert.equal(body.max_completion_tokens ?? body.max_tokens, 1);
    assert.equal((await router.probe("anthropic")).model, "claude-haiku-4-5");
    assert.equal((mocks.anthropic.requests[0].body as Record<string, unknown>).max_tokens, 1);

    // A retryable failure: the adapter's error, one request, no retry, no circuit write.
    mocks.openai.reset();
    mocks.openai.queueFault("status=503", 5);
    await assert.rejects(router.probe("openai"), (error: unknown) => {
      assert.ok(error instanceof LLMError);
      assert.equal(error.code, "PROVIDER_ERROR");
      assert.equal(error.upstreamStatus, 503);
      return true;
    });
    assert.equal(mocks.openai.requests.length, 1);
    assert.equal(store.size, 0);

    for (const provider of ["nope", "gemini"]) {
      await assert.rejects(
        router.probe(provider),
        (error: unknown) => error instanceof LLMError && error.code === "NO_PROVIDER",
        provider,
      );
    }
  } finally {
    await mocks.close();
  }
});

Deno.test("liveness (/live only) answers without touching a provider, the store or the database", async () => {
  const mocks = await startMocks();
  try {
    const storeCalls: string[] = [];
    const db: Db = {
      query: () => Promise.reject(new Error("liveness touched the database")),
      transaction: () => Promise.reject(new Error("liveness touched the database")),
      exec: () => Promise.reject(new Error("liveness touched the database")),
      close: () => Promise.resolve(),
    };
    const health = healthInstance(mocks, {}, { store: countingStore(storeCalls), db });
    const { status, json } = await health.call("/live");
    assert.equal(status, 200);
    assert.equal(json.status, "ok");
    assert.equal(json.function, "llm-health");
    assert.equal((await health.call("/live", { method: "HEAD" })).status, 200);
    assert.equal((await health.call("/live", { method: "POST" })).status, 405);
    assert.equal((await health.call("/nowhere")).status, 404);
    assert.deepEqual(storeCalls, []);
    assert.equal(mocks.openai.requests.length + mocks.anthropic.requests.length, 0);
    assert.deepEqual(health.logs, []);
  } finally {
    await mocks.close();
  }
});

Deno.test("root: GET /functions/v1/llm-health is the seed's providers report, 200 when all are healthy, 503 otherwise", async () => {
  const mocks = await startMocks();
  try {
    let clock = Date.parse("2026-11-21T09:00:00Z");
    const health = healthInstance(mocks, { LLM_HEALTH_MIN_REFRESH_SECONDS: "10" }, {
      now: () => clock,
    });
    const pings = () => mocks.openai.requests.length + mocks.anthropic.requests.length;
    const root = await health.call("");
    assert.equal(root.status, 200, JSON.stringify(root.json));
    assert.deepEqual(Object.keys(root.json).sort(), [
      "healthy",
      "providers",
      "stats",
      "status",
      "timestamp",
    ]);
    assert.equal(root.json.healthy, true);
    assert.equal(root.json.timestamp, "2026-11-21T09:00:00.000Z");
    for (const line of root.json.providers) {
      assert.deepEqual(Object.keys(line).sort(), [
        "circuit",
        "error",
        "healthy",
        "lastCheck",
        "latency",
        "model",
        "provider",
      ]);
      assert.equal(line.healthy, true);
      assert.equal(typeof line.latency, "number");
      assert.equal(line.lastCheck, "2026-11-21T09:00:00.000Z");
      assert.equal(line.error, null);
    }
    assert.deepEqual(root.json.stats, {
      total: 2,
      healthy: 2,
      unhealthy: 0,
      healthPercentage: 100,
    });

    // `/`, `/health` and `/providers` are the same report from the same checks: no ping more.
    for (const [path, method] of [["/", "GET"], ["/health", "GET"], ["/providers", "GET"]]) {
      const alias = await health.call(path, { method });
      assert.equal(alias.status, 200, path);
      assert.deepEqual(alias.json, root.json, path);
    }
    assert.equal((await health.call("", { method: "HEAD" })).status, 200);
    assert.equal((await health.call("", { method: "POST" })).status, 405);
    assert.equal(pings(), 2);

    // A public refresh inside the floor pings nothing; past it the root reports the failure, 503.
    mocks.openai.queueFault("status=503", 10);
    assert.equal((await health.call("?refresh=1")).status, 200);
    assert.equal(pings(), 2);
    clock += 10_000;
    const down = await health.call("?refresh=1");
    assert.equal(down.status, 503);
    assert.equal(down.json.healthy, false);
    assert.equal(down.json.status, "degraded");
    assert.equal(byName(down.json, "openai").healthy, false);
    assert.match(byName(down.json, "openai").error, /^PROVIDER_ERROR: openai\/gpt-4\.1-nano/);
    assert.equal(byName(down.json, "anthropic").healthy, true);
    assert.deepEqual(down.json.stats, { total: 2, healthy: 1, unhealthy: 1, healthPercentage: 50 });
    assert.equal((await health.call("/health")).status, 503);
    assertNoSecrets(health);
  } finally {
    await mocks.close();
  }
});

Deno.test("providers: healthy, then a failing provider on refresh (503, sanitized error), then recovered", async () => {
  const mocks = await startMocks();
  try {
    const health = healthInstance(mocks);
    const first = await health.call("/providers");
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.status, "healthy");
    assert.deepEqual(first.json.providers.map((p: { provider: string }) => p.provider), [
      "openai",
      "anthropic",
    ]);
    const openai = byName(first.json, "openai");
    assert.deepEqual(
      { ...openai, latency: typeof openai.latency, lastCheck: typeof openai.lastCheck },
      {
        provider: "openai",
        healthy: true,
        latency: "number",
        lastCheck: "string",
        error: null,
        model: "gpt-4.1-nano",
        circuit: "CLOSED",
      },
    );
    assert.equal(byName(first.json, "anthropic").model, "claude-haiku-4-5");
    assert.deepEqual(first.json.stats, {
      total: 2,
      healthy: 2,
      unhealthy: 0,
      healthPercentage: 100,
    });

    mocks.openai.queueFault("status=503", 10);
    const failing = await health.call("/providers?refresh=1");
    assert.equal(failing.status, 503);
    assert.equal(failing.json.status, "degraded");
    const down = byName(failing.json, "openai");
    assert.equal(down.healthy, false);
    assert.equal(down.model, "gpt-4.1-nano");
    assert.match(
      down.error,
      /^PROVIDER_ERROR: openai\/gpt-4\.1-nano: provider failed with 503/,
    );
    assert.ok(down.error.length <= 300);
    assert.equal(byName(failing.json, "anthropic").healthy, true);
    assert.deepEqual(failing.json.stats, {
      total: 2,
      healthy: 1,
      unhealthy: 1,
      healthPercentage: 50,
    });
    // One ping, no retries: a health check must not hammer a provider that is down.
    assert.equal(mocks.openai.requests.length, 2);
    assert.ok(
      health.logs.some((line) => /"level":"warn".*"provider_checked".*"openai"/.test(line)),
    );

    mocks.openai.reset();
    const recovered = await health.call("/providers?refresh=1");
    assert.equal(recovered.status, 200);
    assert.equal(byName(recovered.json, "openai").healthy, true);
    assertNoSecrets(health);
  } finally {
    await mocks.close();
  }
});

Deno.test("providers: results are reused while fresh and checked again once stale", async () => {
  const mocks = await startMocks();
  try {
    let clock = Date.parse("2026-11-21T10:00:00Z");
    const health = healthInstance(mocks, { LLM_HEALTH_CACHE_SECONDS: "30" }, { now: () => clock });
    const first = await health.call("/providers");
    assert.equal(first.status, 200);
    assert.equal(mocks.openai.requests.length, 1);
    assert.equal(mocks.anthropic.requests.length, 1);

    clock += 29_000;
    const cached = await health.call("/providers");
    assert.equal(cached.status, 200);
    assert.deepEqual(checksOf(cached.json), checksOf(first.json));
    assert.equal(cached.json.timestamp, "2026-11-21T10:00:29.000Z");
    assert.equal(mocks.openai.requests.length + mocks.anthropic.requests.length, 2);

    clock += 2_000;
    const stale = await health.call("/providers");
    assert.equal(byName(stale.json, "openai").lastCheck, "2026-11-21T10:00:31.000Z");
    assert.equal(mocks.openai.requests.length + mocks.anthropic.requests.length, 4);
  } finally {
    await mocks.close();
  }
});

Deno.test("providers: a ping that hangs is cut at LLM_HEALTH_TIMEOUT_MS and reported as a timeout", async () => {
  const mocks = await startMocks();
  try {
    const health = healthInstance(mocks, { LLM_HEALTH_TIMEOUT_MS: "300" });
    mocks.anthropic.queueFault("hang", 1);
    const started = performance.now();
    const { status, json } = await health.call("/providers");
    assert.ok(performance.now() - started < 3_000);
    assert.equal(status, 503);
    const anthropic = byName(json, "anthropic");
    assert.equal(anthropic.healthy, false);
    assert.match(anthropic.error, /^TIMEOUT: anthropic\/claude-haiku-4-5/);
    assert.ok(anthropic.latency >= 290, String(anthropic.latency));
    assert.equal(byName(json, "openai").healthy, true);
  } finally {
    await mocks.close();
  }
});

Deno.test("providers: results are shared through Upstash, and a check runs once across isolates", async () => {
  const mocks = await startMocks();
  const { endpoint, env } = await upstashEnv();
  try {
    const first = healthInstance(mocks, env);
    const second = healthInstance(mocks, env);
    const pings = () => mocks.openai.requests.length + mocks.anthropic.requests.length;

    const checked = await first.call("/providers");
    assert.equal(checked.status, 200);
    assert.equal(pings(), 2);
    const shared = await second.call("/providers");
    assert.equal(shared.status, 200);
    assert.deepEqual(checksOf(shared.json), checksOf(checked.json));
    assert.equal(pings(), 2, "the second isolate pinged instead of reading the store");

    // Both isolates force a check while slow pings are in flight: one pings, both answer its result.
    mocks.openai.queueFault("delay=400", 5);
    mocks.anthropic.queueFault("delay=400", 5);
    const [a, b, c] = await Promise.all([
      first.call("/providers?refresh=1"),
      second.call("/providers?refresh=1"),
      second.call("/providers?refresh=1"),
    ]);
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 200]);
    assert.equal(pings(), 4, "a forced check ran more than once");
    assert.deepEqual(checksOf(b.json), checksOf(a.json));
    assert.deepEqual(checksOf(c.json), checksOf(a.json));
    assert.notEqual(byName(a.json, "openai").lastCheck, byName(checked.json, "openai").lastCheck);
    assertNoSecrets(first, second);
  } finally {
    await endpoint.close();
    await mocks.close();
  }
});

Deno.test("providers: an open circuit reports the provider unhealthy without a ping", async () => {
  const mocks = await startMocks();
  const { endpoint, prefix, env } = await upstashEnv();
  try {
    // Another isolate's router opened the circuit of one Anthropic model in the shared store.
    const store = new UpstashStateStore({ url: endpoint.url, token: endpoint.token, prefix });
    const breakers = new StoreCircuitBreakers(store, {
      failureThreshold: 1,
      openMs: 60_000,
      halfOpenSuccesses: 1,
    });
    assert.equal(
      await breakers.recordFailure("platform:anthropic:claude-sonnet-4-6", Date.now()),
      "OPEN",
    );

    const health = healthInstance(mocks, env);
    const { status, json } = await health.call("/providers");
    assert.equal(status, 503);
    const anthropic = byName(json, "anthropic");
    assert.equal(anthropic.healthy, false);
    assert.equal(anthropic.circuit, "OPEN");
    assert.equal(anthropic.model, "claude-sonnet-4-6");
    assert.equal(anthropic.latency, null);
    assert.match(anthropic.error, /circuit open for claude-sonnet-4-6/);
    assert.equal(mocks.anthropic.requests.length, 0);
    assert.equal(byName(json, "openai").healthy, true);
    assert.equal(byName(json, "openai").circuit, "CLOSED");
  } finally {
    await endpoint.close();
    await mocks.close();
  }
});

Deno.test("providers: a model behind deployments is out only when every deployment's circuit is open", async () => {
  const mocks = await startMocks();
  const { endpoint, prefix, env } = await upstashEnv();
  try {
    const store = new UpstashStateStore({ url: endpoint.url, token: endpoint.token, prefix });
    const breakers = new StoreCircuitBreakers(store, {
      failureThreshold: 1,
      openMs: 60_000,
      halfOpenSuccesses: 1,
    });
    const health = healthInstance(mocks, {
      ...env,
      LLM_DEPLOYMENTS: JSON.stringify({
        "gpt-4o-mini": [{ name: "a", weight: 1 }, { name: "b", weight: 1 }],
      }),
    });
    // One deployment out: the model is still served, so the provider is healthy, but degraded.
    await breakers.recordFailure("platform:openai:gpt-4o-mini@a", Date.now());
    const one = await health.call("/providers", { method: "GET" });
    assert.equal(byName(one.json, "openai").healthy, true);
    assert.equal(byName(one.json, "openai").circuit, "HALF_OPEN");
    // Both out: routing sends the model nothing, and health says so without a ping.
    await breakers.recordFailure("platform:openai:gpt-4o-mini@b", Date.now());
    const pings = mocks.openai.requests.length;
    const both = await health.call("/check", {
      method: "POST",
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    const openai = byName(both.json, "openai");
    assert.equal(openai.healthy, false, JSON.stringify(both.json));
    assert.equal(openai.circuit, "OPEN");
    assert.match(openai.error, /circuit open for gpt-4o-mini/);
    assert.equal(mocks.openai.requests.length, pings);
  } finally {
    await endpoint.close();
    await mocks.close();
  }
});

Deno.test("providers: with the store down, an isolate still checks, caches in memory and warns once", async () => {
  const mocks = await startMocks();
  try {
    const health = healthInstance(mocks, {
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${freePort()}`,
      UPSTASH_REDIS_REST_TOKEN: "token-of-a-dead-store",
    });
    const first = await health.call("/providers");
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const again = await health.call("/providers");
    assert.deepEqual(checksOf(again.json), checksOf(first.json));
    assert.equal(mocks.openai.requests.length + mocks.anthropic.requests.length, 2);
    const warnings = health.logs.filter((line) => line.includes("health_store_unavailable"));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.ok(!warnings[0].includes("token-of-a-dead-store"));
  } finally {
    await mocks.close();
  }
});

Deno.test("ready: 200 with a database and Upstash that answer; 503 naming the one that does not", async () => {
  const mocks = await startMocks();
  const database = await freshDb();
  const { endpoint, env } = await upstashEnv();
  try {
    const ready = await healthInstance(mocks, env, { db: database.db }).call("/ready");
    assert.equal(ready.status, 200, JSON.stringify(ready.json));
    assert.equal(ready.json.status, "ready");
    assert.equal(ready.json.checks.database.ok, true);
    assert.equal(typeof ready.json.checks.database.latencyMs, "number");
    assert.equal(ready.json.checks.store.kind, "upstash");
    assert.equal(ready.json.checks.store.ok, true);

    const deadStore = healthInstance(mocks, {
      ...env,
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${freePort()}`,
    }, { db: database.db });
    const storeDown = await deadStore.call("/ready");
    assert.equal(storeDown.status, 503);
    assert.equal(storeDown.json.status, "not_ready");
    assert.deepEqual(storeDown.json.failed, ["store"]);
    assert.equal(storeDown.json.checks.store.ok, false);
    assert.equal(typeof storeDown.json.checks.store.error, "string");
    assert.equal(storeDown.json.checks.database.ok, true);
    assert.ok(!storeDown.json.checks.store.error.includes(endpoint.token));

    const password = "db-password-not-for-eyes";
    const deadDb = healthInstance(mocks, {
      SUPABASE_DB_URL: `postgresql://postgres:${password}@127.0.0.1:${freePort()}/postgres`,
    });
    const dbDown = await deadDb.call("/ready");
    assert.equal(dbDown.status, 503);
    // Without Upstash the state lives in that database too (LLM_STATE_STORE=auto): both are down.
    assert.deepEqual(dbDown.json.failed, ["database", "store"]);
    assert.equal(dbDown.json.checks.store.kind, "postgres");
    assert.ok(!JSON.stringify(dbDown.json).includes(password));

    const bare = await healthInstance(mocks).call("/ready");
    assert.equal(bare.status, 200);
    assert.deepEqual(bare.json.checks.database, { configured: false });
    assert.equal(mocks.openai.requests.length + mocks.anthropic.requests.length, 0);
  } finally {
    await endpoint.close();
    await database.close();
    await mocks.close();
  }
});

Deno.test("check: only the service key or the job secret may force a check, which pings at once", async () => {
  const mocks = await startMocks();
  try {
    const health = healthInstance(mocks);
    const post = (headers: Record<string, string>) =>
      health.call("/check", { method: "POST", headers });

    const missing = await post({});
    assert.equal(missing.status, 401);
    assert.equal(missing.json.error.code, "AUTH_MISSING");
    assert.equal((await post({ "x-job-secret": "wrong" })).status, 401);
    assert.equal((await post({ authorization: `Bearer ${OPENAI_KEY}` })).status, 401);
    assert.equal((await health.call("/check")).status, 405);
    assert.equal(mocks.openai.requests.length, 0);

    const byJob = await post({ "x-job-secret": JOB_SECRET });
    assert.equal(byJob.status, 200);
    assert.equal(byJob.json.status, "healthy");
    assert.equal(mocks.openai.requests.length, 1);
    // Fresh results do not stop a forced check: the scheduler wants a new one.
    const byService = await post({ authorization: `Bearer ${SERVICE_KEY}` });
    assert.equal(byService.status, 200);
    assert.equal(mocks.openai.requests.length, 2);

    // 200 means the check ran; an unhealthy provider is reported in the body.
    mocks.anthropic.queueFault("status=500", 5);
    const degraded = await post({ "x-job-secret": JOB_SECRET });
    assert.equal(degraded.status, 200);
    assert.equal(degraded.json.status, "degraded");
    assertNoSecrets(health);
  } finally {
    await mocks.close();
  }
});

Deno.test("check: server keys follow llm-router's rule: LLM_SERVICE_KEYS count, a minted service_role token does not", async () => {
  const mocks = await startMocks();
  try {
    const extraKey = "extra-server-key-for-health-tests-0123456789";
    const health = healthInstance(mocks, {
      LLM_SERVICE_KEYS: ` other-key-0123456789 , ${extraKey}`,
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
    });
    const post = (token: string) =>
      health.call("/check", { method: "POST", headers: { authorization: `Bearer ${token}` } });
    // Signed with the project's JWT secret, but not the configured key: it would survive rotation.
    const minted = await post(await signToken({ role: "service_role", sub: undefined }));
    assert.equal(minted.status, 401);
    assert.equal(minted.json.error.code, "AUTH_INVALID");
    assert.equal(mocks.openai.requests.length, 0);
    assert.equal((await post(extraKey)).status, 200);
    assert.equal((await post(SERVICE_KEY)).status, 200);
    assert.equal(mocks.openai.requests.length, 2);
    assertNoSecrets(health);
  } finally {
    await mocks.close();
  }
});

Deno.test("health error text: keys, URL credentials and length are scrubbed", () => {
  const text = healthErrorText(
    new Error(
      `fetch http://admin:hunter2pass@proxy.local/v1 failed with key ${OPENAI_KEY} ${
        "x".repeat(400)
      }`,
    ),
  );
  assert.ok(!text.includes("hunter2pass"), text);
  assert.ok(!text.includes(OPENAI_KEY), text);
  assert.ok(text.startsWith("Error: fetch http://[redacted]@proxy.local/v1"), text);
  assert.equal(text.length, 300);
  const llm = healthErrorText(new LLMError("RATE_LIMIT", "openai/gpt-4.1-nano: slow down"));
  assert.equal(llm, "RATE_LIMIT: openai/gpt-4.1-nano: slow down");
});

Deno.test("migration: the scheduled call POSTs to llm-health's /check with the job secret from Vault", async () => {
  const { db, close } = await freshDb();
  try {
    // Stand-ins for pg_net and Vault, which neither PGlite nor plain Postgres has.
    await db.exec(`
      create schema if not exists net;
      create table net.calls (url text, body jsonb, headers jsonb);
      create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
        headers jsonb default '{}', timeout_milliseconds int default 5000) returns bigint
        language sql as $$ insert into net.calls values (url, body, headers); select 1::bigint $$;
      create schema if not exists vault;
      create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
    `);
    const calls = () =>
      db.query<{ url: string; secret: string }>(
        "select url, headers ->> 'x-job-secret' as secret from net.calls order by ctid",
      );

    await db.query("select public.llm_health_call()");
    assert.deepEqual(await calls(), [], "called without secrets");

    await db.query(
      "insert into vault.decrypted_secrets values ('llm_router_url', 'https://ref.supabase.co/functions/v1/llm-router/'), ('llm_job_secret', $1)",
      [JOB_SECRET],
    );
    await db.query("select public.llm_health_call()");
    await db.query(
      "insert into vault.decrypted_secrets values ('llm_health_url', 'https://health.example.com/llm-health')",
    );
    await db.query("select public.llm_health_call()");
    assert.deepEqual(await calls(), [
      { url: "https://ref.supabase.co/functions/v1/llm-health/check", secret: JOB_SECRET },
      { url: "https://health.example.com/llm-health/check", secret: JOB_SECRET },
    ]);
  } finally {
    await close();
  }
});

Deno.test("providers: a public forced refresh pings at most once per minimum interval", async () => {
  const mocks = await startMocks();
  try {
    let clock = Date.parse("2026-11-21T12:00:00Z");
    const health = healthInstance(mocks, { LLM_HEALTH_MIN_REFRESH_SECONDS: "10" }, {
      now: () => clock,
    });
    assert.equal((await health.call("/providers")).status, 200);
    const pings = () => mocks.openai.requests.length + mocks.anthropic.requests.length;
    const first = pings();
    await health.call("/providers?refresh=1");
    assert.equal(pings(), first, "within the interval a refresh answers from the store");
    clock += 10_000;
    await health.call("/providers?refresh=1");
    assert.ok(pings() > first, "after it, the refresh pings");
  } finally {
    await mocks.close();
  }
});
