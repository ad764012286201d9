/**
 * The guards of the direct functions' OpenAI path: a spent budget is 402
 * before any upstream call, each user has a token bucket (429 past the
 * burst), a stream's usage and cost land in llm_usage and in the budget
 * ledger llm-router uses (one budget for both paths), llm-metrics counts
 * direct traffic, a failing store fails open or closed, and users on the
 * router path are guarded by llm-router alone.
 */
import assert from "node:assert/strict";
import { directWorld } from "./helpers/direct-world.ts";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { DEV_JWT_SECRET, signToken } from "./helpers/tokens.ts";
import { readSse } from "./helpers/sse.ts";
import { testLogger } from "./helpers/logs.ts";
import { chatDirectSpec } from "../supabase/functions/ai-chat-direct/index.ts";
import { walkthroughDirectSpec } from "../supabase/functions/ai-walkthrough-direct/index.ts";
import type { DirectFunctionSpec } from "../supabase/functions/_shared/direct/handler.ts";
import { readDirectConfig } from "../supabase/functions/_shared/direct/config.ts";
import { inputTokenBound, streamCost } from "../supabase/functions/_shared/direct/cost.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { costOf, ModelCatalog } from "../supabase/functions/_shared/llm/catalog.ts";
import { createMetricsApp } from "../supabase/functions/llm-metrics/app.ts";
import type { Db } from "../supabase/functions/_shared/store/db.ts";
import {
  MemoryStateStore,
  type StateStore,
} from "../supabase/functions/_shared/store/state-store.ts";

const ACCOUNT = "d1d1d1d1-d1d1-4d1d-8d1d-d1d1d1d1d1d1";
const USER = "e1e1e1e1-e1e1-4e1e-8e1e-e1e1e1e1e1e1";
const ADMIN = "e2e2e2e2-e2e2-4e2e-8e2e-e2e2e2e2e2e2";
const OTHER_USER = "e3e3e3e3-e3e3-4e3e-8e3e-e3e3e3e3e3e3";

const hello = { messages: [{ role: "user", content: "Hello there" }] };
const bodyFor = (spec: DirectFunctionSpec<unknown>) =>
  spec.name === "ai-walkthrough-direct"
    ? { ...hello, context: { productArea: "Billing", step: "Open the invoices tab" } }
    : hello;
const gpt4oMini = new ModelCatalog().get("gpt-4o-mini")!;

const member = (sub = USER, account: string | null = ACCOUNT) =>
  signToken({ sub, ...(account ? { app_metadata: { account_id: account, role: "member" } } : {}) });
const admin = () => signToken({ sub: ADMIN, app_metadata: { account_id: ACCOUNT, role: "admin" } });

function setDailyBudget(db: Db, accountId: string, limitUsd: number) {
  return db.query(
    "insert into llm_budgets (account_id, daily_limit_usd) values ($1, $2)",
    [accountId, limitUsd],
  );
}

/** Spend recorded before any ledger existed: a new window seeds from it. */
function recordSpend(db: Db, accountId: string, costUsd: number) {
  return db.query(
    "insert into llm_usage (account_id, provider, model, status, cost_usd) values ($1, 'openai', 'gpt-4o-mini', 'ok', $2)",
    [accountId, costUsd],
  );
}

interface UsageRow {
  status: string;
  error_code: string | null;
  use_case: string | null;
  user_id: string | null;
  provider: string | null;
  model: string | null;
  input_tokens: number;
  output_tokens: number;
  cost: number;
  streamed: boolean;
}

function requestRows(db: Db, accountId: string): Promise<UsageRow[]> {
  return db.query<UsageRow & Record<string, unknown>>(
    `select status, error_code, use_case, user_id::text, provider, model, input_tokens, output_tokens,
            cost_usd::float8 as cost, streamed
       from llm_usage where account_id = $1 and request_id is not null order by created_at`,
    [accountId],
  );
}

async function dailyWindow(routerUrl: string) {
  const read = await callJson("GET", `${routerUrl}/budgets`, await member());
  assert.equal(read.status, 200, read.text);
  return read.json.windows.find((w: { period: string }) => w.period === "daily") as {
    spentUsd: number;
    reservedUsd: number;
  };
}

for (const spec of [chatDirectSpec, walkthroughDirectSpec] as DirectFunctionSpec<unknown>[]) {
  Deno.test(`budget: ${spec.name} answers a spent daily budget with 402 PAYMENT_REQUIRED, every time, and never calls OpenAI`, async () => {
    const database = await freshDb();
    await setDailyBudget(database.db, ACCOUNT, 0.001);
    await recordSpend(database.db, ACCOUNT, 0.002);
    const world = await directWorld({ spec, db: database.db });
    try {
      const token = await member();
      for (let i = 0; i < 3; i++) {
        const refused = await world.post(bodyFor(spec), { token });
        assert.equal(refused.status, 402);
        assert.equal(refused.headers.get("x-llm-path"), "direct");
        const error = (await refused.json()).error;
        assert.equal(error.code, "PAYMENT_REQUIRED");
        assert.match(error.message, /daily budget of this account is spent/);
        assert.equal(error.retryable, false);
        assert.equal(error.limitUsd, 0.001);
        assert.ok(error.spentUsd >= 0.002);
        assert.ok(error.estimateUsd > 0, "the hold priced maxTokens at the catalog's prices");
        assert.ok(Date.parse(error.resetsAt) > Date.now());
      }
      assert.equal(world.mock.requests.length, 0, "no upstream call");
      await world.settle();
      const rows = await requestRows(database.db, ACCOUNT);
      assert.deepEqual(
        rows.map((r) => [r.status, r.error_code, r.use_case]),
        Array(3).fill(["error", "PAYMENT_REQUIRED", spec.name]),
      );
    } finally {
      await world.close();
      await database.close();
    }
  });
}

Deno.test("rate limit: 80 concurrent calls from one user → exactly the burst (50 by default) streamed, the rest 429 with Retry-After and no upstream call", async () => {
  // A refill of one token per 1000 s: nothing comes back while the test runs.
  const world = await directWorld({ env: { DIRECT_RATE_LIMIT_RPS: "0.001" } });
  try {
    const responses = await Promise.all(Array.from({ length: 80 }, () => world.post(hello)));
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    assert.equal(ok.length, 50);
    assert.equal(limited.length, 30);
    await Promise.all(ok.map((r) => readSse(r)));
    for (const response of limited) {
      const error = (await response.json()).error;
      assert.equal(error.code, "RATE_LIMIT_EXCEEDED");
      assert.equal(error.burst, 50);
      assert.ok(error.retryAfterMs > 0);
      assert.ok(Number(response.headers.get("retry-after")) >= 1);
    }
    assert.equal(world.mock.requests.length, 50, "the refused calls never reached OpenAI");
    // Another user has a bucket of their own.
    const other = await world.post(hello, { token: await member(OTHER_USER) });
    assert.equal(other.status, 200);
    await readSse(other);
  } finally {
    await world.close();
  }
});

Deno.test("rate limit: llm-router's LLM_RATE_LIMIT_RPS/_BURST by default (10/s, bursts of 50); DIRECT_RATE_LIMIT_RPS/_BURST override; 0 is off", () => {
  const base = { OPENAI_API_KEY: "sk-test", SUPABASE_JWT_SECRET: DEV_JWT_SECRET };
  const rate = (env: Record<string, string>) => {
    const result = readDirectConfig(mapEnv({ ...base, ...env }), "DIRECT_CHAT_MODEL");
    assert.ok(result.ok);
    return result.config.guards.rate;
  };
  assert.deepEqual(rate({}), { capacity: 50, refillPerSecond: 10 });
  assert.deepEqual(rate({ LLM_RATE_LIMIT_RPS: "2", LLM_RATE_LIMIT_BURST: "5" }), {
    capacity: 5,
    refillPerSecond: 2,
  });
  assert.deepEqual(
    rate({ LLM_RATE_LIMIT_RPS: "2", DIRECT_RATE_LIMIT_RPS: "0.5", DIRECT_RATE_LIMIT_BURST: "3" }),
    { capacity: 3, refillPerSecond: 0.5 },
  );
  assert.equal(rate({ DIRECT_RATE_LIMIT_RPS: "0" }), undefined);
});

Deno.test("usage: a direct stream records one llm_usage row with its tokens and cost; the budget, llm-router's view of it and llm-metrics show the spend", async () => {
  const database = await freshDb();
  const store = new MemoryStateStore();
  await setDailyBudget(database.db, ACCOUNT, 5);
  const world = await directWorld({ db: database.db, store });
  const router = await routerHttpWorld({}, { db: database.db, store });
  try {
    const response = await world.post(hello, { token: await member() });
    assert.equal(response.status, 200);
    const events = await readSse(response);
    const usage = JSON.parse(events.at(-2)!.data).usage;
    await world.settle();

    const rows = await requestRows(database.db, ACCOUNT);
    assert.equal(rows.length, 1);
    const row = rows[0];
    assert.deepEqual(
      [row.status, row.use_case, row.user_id, row.provider, row.model, row.streamed],
      ["ok", "ai-chat-direct", USER, "openai", "gpt-4o-mini", true],
    );
    assert.equal(row.input_tokens, usage.prompt_tokens);
    assert.equal(row.output_tokens, usage.completion_tokens);
    const cost = costOf(gpt4oMini, {
      inputTokens: usage.prompt_tokens,
      outputTokens: usage.completion_tokens,
      cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      cacheWriteTokens: 0,
    });
    assert.ok(cost > 0);
    assert.ok(Math.abs(row.cost - cost) < 1e-9, `${row.cost} ≠ ${cost}`);

    const daily = await dailyWindow(router.url);
    assert.ok(Math.abs(daily.spentUsd - cost) < 1e-6, `ledger ${daily.spentUsd} ≠ ${cost}`);
    assert.equal(daily.reservedUsd, 0, "the hold was settled");

    const metrics = createMetricsApp({
      env: mapEnv({ SUPABASE_JWT_SECRET: DEV_JWT_SECRET, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY }),
      log: testLogger("llm-metrics"),
      store,
      db: database.db,
    });
    const read = await metrics(
      new Request("http://127.0.0.1/functions/v1/llm-metrics", {
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      }),
    );
    assert.equal(read.status, 200);
    const aggregated = (await read.json()).aggregated;
    assert.equal(aggregated.requests, 1);
    assert.equal(aggregated.successes, 1);
    assert.ok(Math.abs(aggregated.totalCost - cost) < 1e-6);
  } finally {
    await world.close();
    await router.close();
    await database.close();
  }
});

Deno.test("one budget: router spend and direct spend count against the same ledger, and a budget spent by both refuses both", async () => {
  const database = await freshDb();
  const store = new MemoryStateStore();
  await setDailyBudget(database.db, ACCOUNT, 5);
  const world = await directWorld({ db: database.db, store });
  const router = await routerHttpWorld({}, { db: database.db, store });
  try {
    const token = await member();
    await readSse(await world.post(hello, { token }));
    await world.settle();
    const afterDirect = (await dailyWindow(router.url)).spentUsd;
    assert.ok(afterDirect > 0);

    const routed = await router.post("", { prompt: "hello there", maxTokens: 50 }, token);
    assert.equal(routed.status, 200);
    await routed.body?.cancel();
    await router.settle();
    const afterBoth = (await dailyWindow(router.url)).spentUsd;
    assert.ok(afterBoth > afterDirect, "the router's spend was added to the direct spend");
    const rows = await requestRows(database.db, ACCOUNT);
    const recorded = rows.reduce((sum, r) => sum + r.cost, 0);
    assert.ok(Math.abs(afterBoth - recorded) < 1e-6, "each request counted once");

    // The limit drops below what both paths spent together: both refuse.
    const lowered = await callJson("PUT", `${router.url}/budgets`, await admin(), {
      dailyLimitUsd: Number(((afterDirect + afterBoth) / 2).toFixed(8)),
    });
    assert.equal(lowered.status, 200, lowered.text);
    const viaRouter = await router.post("", { prompt: "again", maxTokens: 50 }, token);
    assert.equal(viaRouter.status, 402);
    const routerError = (await viaRouter.json()).error;
    const calls = world.mock.requests.length;
    const viaDirect = await world.post(hello, { token });
    assert.equal(viaDirect.status, 402);
    const directError = (await viaDirect.json()).error;
    assert.equal(world.mock.requests.length, calls, "no upstream call");
    // The same 402 body as llm-router's: code, message, and the same details.
    assert.deepEqual(Object.keys(directError).sort(), Object.keys(routerError).sort());
    assert.equal(directError.code, routerError.code);
    assert.equal(directError.spentUsd, routerError.spentUsd);
  } finally {
    await world.close();
    await router.close();
    await database.close();
  }
});

Deno.test("account: a user whose token names no account spends against their only membership's budget", async () => {
  const database = await freshDb();
  await database.db.query(
    "insert into llm_account_members (account_id, user_id, role) values ($1, $2, 'member')",
    [ACCOUNT, USER],
  );
  await setDailyBudget(database.db, ACCOUNT, 0.001);
  await recordSpend(database.db, ACCOUNT, 0.002);
  const world = await directWorld({ db: database.db });
  try {
    const refused = await world.post(hello, { token: await member(USER, null) });
    assert.equal(refused.status, 402);
    // Without a membership the user's own id is the account, which has no budget.
    const other = await world.post(hello, { token: await member(OTHER_USER, null) });
    assert.equal(other.status, 200);
    await readSse(other);
  } finally {
    await world.close();
    await database.close();
  }
});

/** `db` whose first query of llm_account_members fails, as a database blip would. */
function failingFirstMembershipLookup(db: Db): Db {
  let failed = false;
  return {
    query: (text, params) => {
      if (!failed && text.includes("llm_account_members")) {
        failed = true;
        return Promise.reject(new Error("connection reset"));
      }
      return db.query(text, params);
    },
    transaction: (work) => db.transaction(work),
    exec: (script) => db.exec(script),
    close: () => db.close(),
  };
}

Deno.test("account: a membership lookup that failed is not cached as 'no membership' (fail closed: 503, then the member's budget applies)", async () => {
  const database = await freshDb();
  await database.db.query(
    "insert into llm_account_members (account_id, user_id, role) values ($1, $2, 'member')",
    [ACCOUNT, USER],
  );
  await setDailyBudget(database.db, ACCOUNT, 0.001);
  await recordSpend(database.db, ACCOUNT, 0.002);
  const world = await directWorld({
    db: failingFirstMembershipLookup(database.db),
    env: { LLM_GUARDS_FAIL_CLOSED: "true" },
  });
  try {
    const token = await member(USER, null);
    const unavailable = await world.post(hello, { token });
    assert.equal(unavailable.status, 503);
    assert.equal((await unavailable.json()).error.code, "GUARD_UNAVAILABLE");
    assert.equal((await world.post(hello, { token })).status, 402);
    assert.equal(world.mock.requests.length, 0);
  } finally {
    await world.close();
    await database.close();
  }
});

Deno.test("store failure: with a dead Redis the direct guards fail open (logged, served) or, with LLM_GUARDS_FAIL_CLOSED, closed with 503 GUARD_UNAVAILABLE", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const env = {
    UPSTASH_REDIS_REST_URL: deadUrl,
    UPSTASH_REDIS_REST_TOKEN: "dead-store-token-0123456789",
  };
  const open = await directWorld({ env });
  try {
    const answer = await open.post(hello);
    assert.equal(answer.status, 200);
    await readSse(answer);
    assert.ok(open.logs.some((l) => l.includes('"guard_unavailable"') && l.includes("rate_limit")));
  } finally {
    await open.close();
  }
  assert.ok(!open.logs.some((l) => l.includes("dead-store-token")), "the token stays out of logs");
  const closed = await directWorld({ env: { ...env, LLM_GUARDS_FAIL_CLOSED: "true" } });
  try {
    const refused = await closed.post(hello);
    assert.equal(refused.status, 503);
    const error = (await refused.json()).error;
    assert.equal(error.code, "GUARD_UNAVAILABLE");
    assert.equal(error.retryable, true);
    assert.equal(closed.mock.requests.length, 0);
  } finally {
    await closed.close();
  }
});

/** `store` that fails the first time anything touches it, then works. */
function failingOnce(store: StateStore): StateStore {
  let failed = false;
  return new Proxy(store, {
    get(target, property) {
      if (!failed) {
        failed = true;
        throw new Error("store not ready");
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("guard world: a failed build refuses (failing closed) and is retried by the next request", async () => {
  const world = await directWorld({
    store: failingOnce(new MemoryStateStore()),
    env: { LLM_GUARDS_FAIL_CLOSED: "true" },
  });
  try {
    const first = await world.post(hello);
    assert.equal(first.status, 503);
    assert.equal((await first.json()).error.code, "GUARD_UNAVAILABLE");
    const second = await world.post(hello);
    assert.equal(second.status, 200);
    await readSse(second);
  } finally {
    await world.close();
  }
});

Deno.test("router path: routed users are guarded by llm-router only — no direct bucket, and their spend counted once", async () => {
  const database = await freshDb();
  const store = new MemoryStateStore();
  await setDailyBudget(database.db, ACCOUNT, 5);
  const router = await routerHttpWorld({}, { db: database.db, store });
  const world = await directWorld({
    db: database.db,
    store,
    env: {
      ENABLE_LLM_ROUTER: "true",
      LLM_ROUTER_URL: router.url,
      // A direct bucket of one: a second request would be refused if the direct guards ran.
      DIRECT_RATE_LIMIT_RPS: "0.001",
      DIRECT_RATE_LIMIT_BURST: "1",
    },
  });
  try {
    const token = await member();
    for (let i = 0; i < 3; i++) {
      const response = await world.post(hello, { token });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("x-llm-path"), "router");
      await readSse(response);
    }
    await world.settle();
    await router.settle();
    const rows = await requestRows(database.db, ACCOUNT);
    assert.equal(rows.length, 3, "one row per request, written by llm-router");
    assert.ok(rows.every((r) => r.use_case !== "ai-chat-direct"));
    const recorded = rows.reduce((sum, r) => sum + r.cost, 0);
    const daily = await dailyWindow(router.url);
    assert.ok(Math.abs(daily.spentUsd - recorded) < 1e-6, "the budget counted each request once");
  } finally {
    await world.close();
    await router.close();
    await database.close();
  }
});

Deno.test("cost: the hold's input bound covers every UTF-8 byte plus each message's overhead", () => {
  const bound = inputTokenBound("system", [{ role: "user", content: "héllo" }]);
  // 3 to prime the reply, 4 per message, 6 bytes of "system", 6 of "héllo".
  assert.equal(bound, 3 + 4 + 6 + 4 + 6);
});

Deno.test("cost: a stream cut short before OpenAI's usage report is charged an upper bound of what it used, at most maxTokens out", () => {
  const reported = { inputTokens: 100, outputTokens: 20, cachedInputTokens: 0 };
  const exact = streamCost(gpt4oMini, reported, {
    inputTokens: 500,
    maxTokens: 64,
    outputBytes: 80,
  });
  assert.equal(exact.estimated, false);
  assert.equal(exact.costUsd, costOf(gpt4oMini, { ...reported, cacheWriteTokens: 0 }));
  const cut = streamCost(gpt4oMini, undefined, {
    inputTokens: 500,
    maxTokens: 64,
    outputBytes: 80,
  });
  assert.equal(cut.estimated, true);
  assert.deepEqual(cut.usage, { inputTokens: 500, outputTokens: 64, cachedInputTokens: 0 });
  assert.ok(cut.costUsd > exact.costUsd);
  assert.equal(
    streamCost(undefined, reported, { inputTokens: 1, maxTokens: 1, outputBytes: 1 }).costUsd,
    0,
  );
});
