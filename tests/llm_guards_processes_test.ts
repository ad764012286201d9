/**
 * Two gateway processes sharing one state store enforce one rate limit, one
 * budget and one circuit state: what one process spends, takes or learns
 * about a provider, the other sees on its very next request. Run twice: with
 * Redis (through the Upstash REST bridge) beside one Postgres, and with the
 * Postgres alone holding the state (LLM_STATE_STORE=postgres, no Redis).
 */
import assert from "node:assert/strict";
import { startMockProvider } from "../scripts/mock-provider.ts";
import { BUILT_IN_MODELS } from "../supabase/functions/_shared/llm/catalog.ts";
import { startDevProcess } from "./helpers/process.ts";
import { freshDb } from "./helpers/test-db.ts";
import { testUpstash, uniquePrefix } from "./helpers/test-upstash.ts";
import { DEV_JWT_SECRET } from "./helpers/tokens.ts";

const SERVICE_KEY = "service-role-key-for-two-process-tests-0123456789";
const ACCOUNT_RATE = "c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1";
const ACCOUNT_BUDGET = "c2c2c2c2-c2c2-4c2c-8c2c-c2c2c2c2c2c2";
const FAULTY = "gpt-4o-mini::status=503";
const SLOW = "gpt-4o-mini::delay=1500";

async function startGateway(env: Record<string, string>) {
  const dev = await startDevProcess(env);
  const url = `${dev.url}/functions/v1/llm-router`;
  return {
    url,
    async call(method: string, path: string, body?: unknown) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${SERVICE_KEY}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        // deno-lint-ignore no-explicit-any
        json: (text.startsWith("{") ? JSON.parse(text) : undefined) as any,
      };
    },
    stop: () => dev.stop(),
  };
}

/** Where the two processes keep their shared state, and the env that says so. */
interface SharedState {
  name: string;
  kind: "upstash" | "postgres";
  open(): Promise<{ env: Record<string, string>; close(): Promise<void> }>;
}

const SHARED_STATES: SharedState[] = [
  {
    name: "Redis",
    kind: "upstash",
    open: async () => {
      const redis = await testUpstash();
      return {
        env: {
          UPSTASH_REDIS_REST_URL: redis.url,
          UPSTASH_REDIS_REST_TOKEN: redis.token,
          LLM_REDIS_PREFIX: uniquePrefix(),
        },
        close: () => redis.close(),
      };
    },
  },
  {
    name: "Postgres alone",
    kind: "postgres",
    open: () =>
      Promise.resolve({ env: { LLM_STATE_STORE: "postgres" }, close: () => Promise.resolve() }),
  },
];

for (const shared of SHARED_STATES) {
  Deno.test({
    name:
      `two gateway processes sharing ${shared.name} enforce one rate limit, one budget and one circuit`,
    // Both processes need a database they can reach: the suite's Postgres.
    ignore: !Deno.env.get("TEST_DATABASE_URL"),
    fn: (t) => twoProcesses(t, shared),
  });
}

async function twoProcesses(t: Deno.TestContext, shared: SharedState): Promise<void> {
  const mock = await startMockProvider();
  const database = await freshDb("postgres");
  const state = await shared.open();
  const base = BUILT_IN_MODELS.find((m) => m.id === "gpt-4o-mini")!;
  const env = {
    OPENAI_API_KEY: "sk-two-process-openai",
    OPENAI_BASE_URL: mock.openaiBaseUrl,
    ANTHROPIC_API_KEY: "sk-ant-two-process",
    ANTHROPIC_BASE_URL: mock.anthropicBaseUrl,
    SUPABASE_DB_URL: database.url!,
    SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
    SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
    ...state.env,
    LLM_RATE_LIMIT_RPS: "0.01",
    LLM_RATE_LIMIT_BURST: "4",
    LLM_MAX_RETRIES: "0",
    LLM_BREAKER_FAILURES: "2",
    LLM_BREAKER_OPEN_MS: "600000",
    LLM_MODELS: JSON.stringify([{ ...base, id: FAULTY }, { ...base, id: SLOW }]),
  };
  const [a, b] = await Promise.all([startGateway(env), startGateway(env)]);
  try {
    await t.step(`both keep their state in ${shared.kind}`, async () => {
      for (const gateway of [a, b]) {
        assert.equal((await gateway.call("GET", "/health")).json.store, shared.kind);
      }
    });

    await t.step("one rate limit: a burst of 4 shared by both", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const gateway = i % 2 === 0 ? a : b;
        const answer = await gateway.call("POST", "", {
          prompt: `ping ${i}`,
          accountId: ACCOUNT_RATE,
          maxTokens: 5,
        });
        statuses.push(answer.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429]);
    });

    await t.step("one budget: what B spends, A refuses past", async () => {
      const put = await a.call("PUT", `/budgets?accountId=${ACCOUNT_BUDGET}`, {
        dailyLimitUsd: 0.000001,
      });
      assert.equal(put.status, 200);
      const spending = b.call("POST", "", {
        prompt: "spend",
        accountId: ACCOUNT_BUDGET,
        modelOverride: SLOW,
      });
      // While B's request is in flight, A sees its hold: the ledger is one, not two.
      let held = 0;
      const holdDeadline = Date.now() + 1_200;
      while (held === 0 && Date.now() < holdDeadline) {
        const view = await a.call("GET", `/budgets?accountId=${ACCOUNT_BUDGET}`);
        held = view.json.windows[0].reservedUsd;
      }
      assert.ok(held > 0, "A never saw B's hold");
      assert.equal((await spending).status, 200);
      // B settles in the background: wait until A's view of the ledger shows it.
      const deadline = Date.now() + 10_000;
      while (true) {
        const view = await a.call("GET", `/budgets?accountId=${ACCOUNT_BUDGET}`);
        if (view.json.windows[0].spentUsd > 0 && view.json.windows[0].reservedUsd === 0) break;
        if (Date.now() > deadline) throw new Error("B's spend never reached the shared ledger");
        await new Promise((r) => setTimeout(r, 50));
      }
      const calls = mock.requests.length;
      const refused = await a.call("POST", "", { prompt: "more", accountId: ACCOUNT_BUDGET });
      assert.equal(refused.status, 402);
      assert.equal(refused.json.error.code, "PAYMENT_REQUIRED");
      assert.equal(mock.requests.length, calls);
    });

    await t.step("one circuit: opened by A's failures, skipped by B at once", async () => {
      const failing = () => mock.requests.filter((r) => r.fault === "status=503").length;
      // The faulty model first, then its use case's chain (the seeded routing rows).
      const ask = (gateway: typeof a, prompt: string) =>
        gateway.call("POST", "", { prompt, modelOverride: FAULTY, maxTokens: 5 });
      for (let i = 0; i < 2; i++) {
        const answer = await ask(a, `fail ${i}`);
        assert.equal(answer.status, 200, "falls back to the next model");
        assert.equal(answer.headers.get("x-llm-attempts"), "2");
      }
      assert.equal(failing(), 2);
      const answer = await ask(b, "after");
      assert.equal(answer.status, 200);
      assert.notEqual(answer.headers.get("x-llm-model"), FAULTY);
      assert.equal(answer.headers.get("x-llm-attempts"), "1", "B never tried the open circuit");
      assert.equal(failing(), 2);
    });

    await t.step("one set of metrics: llm-metrics on A counts B's requests too", async () => {
      // 8 + 2 + 3 chat requests above, served by both processes; each flushes within a second.
      const deadline = Date.now() + 10_000;
      let body;
      while (true) {
        const response = await fetch(a.url.replace("/llm-router", "/llm-metrics"), {
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        });
        body = await response.json();
        if (body.aggregated?.requests === 13 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(body.aggregated.requests, 13);
      assert.deepEqual(body.aggregated.rejections, { rateLimit: 4, budget: 1 });
      assert.ok(body.circuits.some((c: { state: string }) => c.state === "OPEN"));
    });
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await state.close();
    await database.close();
    await mock.close();
  }
}
