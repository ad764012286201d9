/**
 * The guards through llm-router over HTTP with a real database: rate limits
 * (429 before any upstream call), per-model ceilings (fall back, then 429),
 * budgets (402 before any upstream call, overshoot under 100 concurrent
 * requests, every request in llm_usage), usage of a stream the client left,
 * the response cache (hits without upstream calls, never across accounts,
 * streamed from cache), the audit trail, and the store failure policy.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { eventually } from "./helpers/direct-world.ts";
import { rawPost } from "./helpers/raw-client.ts";
import { readSse } from "./helpers/sse.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const USER_A = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";
const ADMIN_A = "a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2";
const USER_B = "b1b1b1b1-b1b1-4b1b-8b1b-b1b1b1b1b1b1";

async function guardWorld(env: Record<string, string | undefined> = {}, withDb = true) {
  const database: TestDb | undefined = withDb ? await freshDb() : undefined;
  const world = await routerHttpWorld(env, { db: database?.db });
  const token = (sub: string, account: string, role: string) =>
    signToken({ sub, app_metadata: { account_id: account, role } });
  const memberA = await token(USER_A, ACCOUNT_A, "member");
  return {
    world,
    db: database?.db,
    memberA,
    adminA: await token(ADMIN_A, ACCOUNT_A, "admin"),
    memberB: await token(USER_B, ACCOUNT_B, "member"),
    call(method: string, path: string, token: string, body?: unknown) {
      return callJson(method, `${world.url}${path}`, token, body);
    },
    ask(token = memberA, body: Record<string, unknown> = {}) {
      return this.call("POST", "", token, { prompt: "hello there", maxTokens: 50, ...body });
    },
    async close() {
      await world.settle();
      await world.close();
      await database?.close();
    },
  };
}

Deno.test("rate limit: past the burst a caller gets 429 with Retry-After and retryAfterMs, and no upstream call", async () => {
  const t = await guardWorld({ LLM_RATE_LIMIT_RPS: "0.5", LLM_RATE_LIMIT_BURST: "2" }, false);
  try {
    assert.equal((await t.ask()).status, 200);
    assert.equal((await t.ask()).status, 200);
    const refused = await t.ask();
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, "RATE_LIMIT_EXCEEDED");
    assert.ok(refused.json.error.retryAfterMs > 0 && refused.json.error.retryAfterMs <= 2_000);
    assert.equal(refused.headers.get("retry-after"), "2");
    assert.equal(t.world.mock.requests.length, 2, "the refused request never reached a provider");
    // Another account has a bucket of its own.
    assert.equal((await t.ask(t.memberB)).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("rate limit: the OpenAI-compatible API refuses in OpenAI's shape, which the SDK reads as a RateLimitError", async () => {
  const t = await guardWorld({ LLM_RATE_LIMIT_RPS: "0.1", LLM_RATE_LIMIT_BURST: "1" }, false);
  try {
    const client = new OpenAI({ apiKey: t.memberA, baseURL: `${t.world.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "a" }],
    });
    await assert.rejects(
      client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "b" }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.equal(error.code, "RATE_LIMIT_EXCEEDED");
        return true;
      },
    );
    assert.equal(t.world.mock.requests.length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("rate limit: an account's own limit comes from the database, set by server code only", async () => {
  const t = await guardWorld({ LLM_RATE_LIMIT_RPS: "100", LLM_RATE_LIMIT_BURST: "100" });
  try {
    const byAdmin = await t.call("PUT", "/rate-limits", t.adminA, {
      requestsPerSecond: 1000,
      burst: 1000,
    });
    assert.equal(byAdmin.status, 403, "a tenant cannot raise its own limit");
    const put = await t.call("PUT", `/rate-limits?accountId=${ACCOUNT_A}`, SERVICE_KEY, {
      requestsPerSecond: 0.01,
      burst: 1,
      models: { "gpt-4o": { rpm: 5 } },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.rateLimit.burst, 1);
    const read = await t.call("GET", "/rate-limits", t.memberA);
    assert.equal(read.json.source, "account");
    assert.deepEqual(read.json.models, { "gpt-4o": { rpm: 5 } });
    assert.equal((await t.ask()).status, 200);
    assert.equal((await t.ask()).status, 429);
    assert.equal((await t.ask(t.memberB)).status, 200, "B keeps the default");
    await t.world.settle();
    // A refusal at the door is audited, but costs no llm_usage write.
    const usage = await t.db!.query(
      "select 1 from llm_usage where account_id = $1 and error_code = 'RATE_LIMIT_EXCEEDED'",
      [ACCOUNT_A],
    );
    assert.equal(usage.length, 0);
    const audited = await t.db!.query(
      "select 1 from llm_audit_log where account_id = $1 and outcome = 'RATE_LIMIT_EXCEEDED'",
      [ACCOUNT_A],
    );
    assert.equal(audited.length, 1);
    const unknown = await t.call("PUT", `/rate-limits?accountId=${ACCOUNT_A}`, SERVICE_KEY, {
      requestsPerSecond: 1,
      burst: 1,
      models: { "no-such-model": { rpm: 1 } },
    });
    assert.equal(unknown.status, 400);
    const removed = await t.call("DELETE", `/rate-limits?accountId=${ACCOUNT_A}`, SERVICE_KEY);
    assert.equal(removed.status, 200);
    assert.equal((await t.ask()).status, 200, "back on the default");
  } finally {
    await t.close();
  }
});

Deno.test("model ceilings: a model at its requests-per-minute ceiling falls back; with no fallback left, 429", async () => {
  const t = await guardWorld({
    LLM_MODEL_RATE_LIMITS: JSON.stringify({ "gpt-4o-mini": { rpm: 1 } }),
    LLM_USE_CASE_CHAINS: JSON.stringify({
      general: ["gpt-4o-mini", "claude-haiku-4-5"],
      draft: ["gpt-4o-mini"],
    }),
  }, false);
  try {
    const first = await t.ask();
    assert.equal(first.headers.get("x-llm-model"), "gpt-4o-mini");
    const second = await t.ask();
    assert.equal(second.status, 200);
    assert.equal(second.headers.get("x-llm-model"), "claude-haiku-4-5");
    const only = await t.ask(t.memberA, { useCase: "draft" });
    assert.equal(only.status, 429);
    assert.equal(only.json.error.code, "RATE_LIMIT_EXCEEDED");
    assert.ok(Number(only.headers.get("retry-after")) >= 1);
    assert.equal(t.world.mock.requests.length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("budgets: admins set them, members read the spend; a spent budget is 402 with no upstream call", async () => {
  const t = await guardWorld();
  try {
    const byMember = await t.call("PUT", "/budgets", t.memberA, { dailyLimitUsd: 5 });
    assert.equal(byMember.status, 403);
    const badZone = await t.call("PUT", "/budgets", t.adminA, {
      dailyLimitUsd: 5,
      timeZone: "Mars/Olympus",
    });
    assert.equal(badZone.status, 400);
    // Below the column's three decimals a threshold would round to 0: refused, not a 500.
    const tinyThreshold = await t.call("PUT", "/budgets", t.adminA, {
      dailyLimitUsd: 5,
      alertThreshold: 0.0001,
    });
    assert.equal(tinyThreshold.status, 400);
    assert.equal(tinyThreshold.json.error.code, "VALIDATION_ERROR");
    const put = await t.call("PUT", "/budgets", t.adminA, {
      dailyLimitUsd: 0.00001,
      monthlyLimitUsd: 10,
      timeZone: "Europe/Berlin",
    });
    assert.equal(put.status, 200, put.text);
    const first = await t.ask();
    assert.equal(first.status, 200, "admitted while nothing is spent");
    await t.world.settle();
    const calls = t.world.mock.requests.length;
    const refused = await t.ask();
    assert.equal(refused.status, 402);
    assert.equal(refused.json.error.code, "PAYMENT_REQUIRED");
    assert.match(refused.json.error.message, /daily budget of this account is spent/);
    assert.match(refused.json.error.message, /limit/);
    assert.match(refused.json.error.message, /could cost up to \$/);
    assert.ok(refused.json.error.spentUsd > 0.00001);
    assert.ok(refused.json.error.estimateUsd > 0);
    assert.equal(t.world.mock.requests.length, calls, "no upstream call");
    const read = await t.call("GET", "/budgets", t.memberA);
    assert.equal(read.status, 200);
    const daily = read.json.windows.find((w: { period: string }) => w.period === "daily");
    assert.ok(daily.spentUsd > 0);
    assert.equal(daily.reservedUsd, 0);
    assert.equal(daily.remainingUsd, 0);
    // Raising the limit takes effect on the next request.
    await t.call("PUT", "/budgets", t.adminA, { dailyLimitUsd: 5, timeZone: "Europe/Berlin" });
    assert.equal((await t.ask()).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("budgets: 100 concurrent requests on a nearly spent budget overshoot by at most one estimate, and every one is in llm_usage", async () => {
  const t = await guardWorld({ LLM_RATE_LIMIT_RPS: "1000", LLM_RATE_LIMIT_BURST: "1000" });
  try {
    const limit = 0.01;
    // Spend recorded before the ledger existed: the ledger must start from it.
    await t.db!.query(
      `insert into llm_usage (account_id, provider, model, status, cost_usd) values ($1, 'openai', 'gpt-4o-mini', 'ok', $2)`,
      [ACCOUNT_A, limit - 0.0001],
    );
    await t.call("PUT", "/budgets", t.adminA, { dailyLimitUsd: limit });
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => t.ask(t.memberA, { prompt: `request ${i}` })),
    );
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 402);
    assert.equal(ok.length + refused.length, 100);
    assert.ok(ok.length >= 1, "the first request still fits");
    const estimate = Math.max(...refused.map((r) => r.json.error.estimateUsd as number));
    await t.world.settle();
    const rows = await t.db!.query<{ status: string; error_code: string | null; cost: number }>(
      `select status, error_code, cost_usd::float8 as cost from llm_usage where account_id = $1 and request_id is not null`,
      [ACCOUNT_A],
    );
    assert.equal(rows.length, 100, "no request lost from llm_usage");
    assert.equal(rows.filter((r) => r.error_code === "PAYMENT_REQUIRED").length, refused.length);
    const spent = (limit - 0.0001) + rows.reduce((sum, r) => sum + r.cost, 0);
    assert.ok(spent - limit <= estimate, `overshoot ${spent - limit} > estimate ${estimate}`);
    assert.equal(t.world.mock.requests.length, ok.length, "refused requests never went upstream");
  } finally {
    await t.close();
  }
});

Deno.test("embeddings: recorded in llm_usage with their cost, and held against the budget", async () => {
  const t = await guardWorld();
  try {
    await t.call("PUT", "/budgets", t.adminA, { dailyLimitUsd: 1 });
    const answer = await t.call("POST", "/v1/embeddings", t.memberA, {
      model: "text-embedding-3-small",
      input: ["one", "two"],
    });
    assert.equal(answer.status, 200, answer.text);
    await t.world.settle();
    const rows = await t.db!.query<{ use_case: string; input_tokens: number; cost: number }>(
      "select use_case, input_tokens, cost_usd::float8 as cost from llm_usage where account_id = $1",
      [ACCOUNT_A],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].use_case, "embedding");
    assert.ok(rows[0].input_tokens > 0 && rows[0].cost > 0);
    const budgets = await t.call("GET", "/budgets", t.memberA);
    assert.ok(Math.abs(budgets.json.windows[0].spentUsd - rows[0].cost) < 1e-6);
  } finally {
    await t.close();
  }
});

Deno.test("streams: a client leaving after the first chunk still gets its usage and cost recorded", async () => {
  const t = await guardWorld({
    LLM_MODELS: JSON.stringify([{
      id: "gpt-4o-mini::chunk-delay=30",
      provider: "openai",
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
      prices: { input: 0.15, output: 0.6, cachedInput: 0.075, cacheWrite: 0.15 },
      capabilities: { chat: true, tools: true, vision: true, json: true, embeddings: false },
      tokenizer: "o200k",
    }]),
    LLM_USE_CASE_CHAINS: JSON.stringify({ general: ["gpt-4o-mini::chunk-delay=30"] }),
  });
  try {
    await t.call("PUT", "/budgets", t.adminA, { dailyLimitUsd: 5 });
    const client = await rawPost(t.world.url, {
      authorization: `Bearer ${t.memberA}`,
      "content-type": "application/json",
    }, JSON.stringify({ prompt: "tell me a story", stream: true }));
    assert.match(await client.firstBytes(), /^HTTP\/1.1 200/);
    client.close();
    await eventually(() => t.world.mock.requests[0]?.outcome === "completed", 10_000);
    await t.world.settle();
    const rows = await t.db!.query<{ status: string; output_tokens: number; cost: number }>(
      "select status, output_tokens, cost_usd::float8 as cost from llm_usage where account_id = $1",
      [ACCOUNT_A],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, "ok");
    assert.ok(rows[0].output_tokens >= 20, `output tokens ${rows[0].output_tokens}`);
    assert.ok(rows[0].cost > 0);
    const budgets = await t.call("GET", "/budgets", t.memberA);
    assert.ok(Math.abs(budgets.json.windows[0].spentUsd - rows[0].cost) < 1e-6);
    assert.equal(budgets.json.windows[0].reservedUsd, 0);
  } finally {
    await t.close();
  }
});

Deno.test("response cache: a hit is served without an upstream call, costs nothing, and is recorded as cached", async () => {
  const t = await guardWorld();
  try {
    const first = await t.ask(t.memberA, { cache: true });
    assert.equal(first.headers.get("x-llm-cache"), "MISS");
    await t.world.settle();
    const second = await t.ask(t.memberA, { cache: true });
    assert.equal(second.status, 200);
    assert.equal(second.headers.get("x-llm-cache"), "HIT");
    assert.equal(second.json.text, first.json.text);
    assert.equal(second.json.costUsd, 0);
    assert.equal(second.json.cached, true);
    assert.equal(t.world.mock.requests.length, 1);
    // Without opting in, the cache is not consulted.
    const plain = await t.ask();
    assert.equal(plain.headers.get("x-llm-cache"), "BYPASS");
    assert.equal(t.world.mock.requests.length, 2);
    await t.world.settle();
    const rows = await t.db!.query<{ cached: boolean; cost: number }>(
      "select cached, cost_usd::float8 as cost from llm_usage where account_id = $1 order by id",
      [ACCOUNT_A],
    );
    assert.deepEqual(rows.map((r) => r.cached), [false, true, false]);
    assert.equal(rows[1].cost, 0);
  } finally {
    await t.close();
  }
});

Deno.test("response cache: never shared across accounts", async () => {
  const t = await guardWorld();
  try {
    await t.ask(t.memberA, { cache: true });
    await t.world.settle();
    const other = await t.ask(t.memberB, { cache: true });
    assert.equal(other.headers.get("x-llm-cache"), "MISS");
    assert.equal(t.world.mock.requests.length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("response cache: a streamed request is answered from cache as SSE; a streamed miss fills it", async () => {
  const t = await guardWorld();
  try {
    const streamed = await fetch(t.world.url, {
      method: "POST",
      headers: { authorization: `Bearer ${t.memberA}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "stream me", stream: true, cache: true, maxTokens: 50 }),
    });
    assert.equal(streamed.headers.get("x-llm-cache"), "MISS");
    const live = await readSse(streamed);
    await t.world.settle();
    const fromCache = await t.ask(t.memberA, { prompt: "stream me", cache: true });
    assert.equal(fromCache.headers.get("x-llm-cache"), "HIT");
    const liveText = live.map((e) => e.data === "[DONE]" ? {} : JSON.parse(e.data))
      .filter((e) => e.type === "text").map((e) => e.text).join("");
    assert.equal(fromCache.json.text, liveText);
    const replay = await fetch(t.world.url, {
      method: "POST",
      headers: { authorization: `Bearer ${t.memberA}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "stream me", stream: true, cache: true, maxTokens: 50 }),
    });
    assert.equal(replay.headers.get("x-llm-cache"), "HIT");
    assert.match(replay.headers.get("content-type")!, /^text\/event-stream/);
    const events = (await readSse(replay)).map((e) =>
      e.data === "[DONE]" ? "[DONE]" : JSON.parse(e.data)
    );
    assert.equal(events[0].type, "start");
    assert.equal(events.filter((e) => e.type === "text").map((e) => e.text).join(""), liveText);
    const finish = events.find((e) => e.type === "finish");
    assert.equal(finish.costUsd, 0);
    assert.equal(events.at(-1), "[DONE]");
    assert.equal(t.world.mock.requests.length, 1, "one upstream call for three answers");
  } finally {
    await t.close();
  }
});

Deno.test("response cache: a use case can cache by default; cache:false still bypasses; the OpenAI API opts in with `cache`", async () => {
  const t = await guardWorld({ LLM_RESPONSE_CACHE_USE_CASES: "summary" });
  try {
    await t.ask(t.memberA, { useCase: "summary" });
    await t.world.settle();
    const hit = await t.ask(t.memberA, { useCase: "summary" });
    assert.equal(hit.headers.get("x-llm-cache"), "HIT");
    const bypass = await t.ask(t.memberA, { useCase: "summary", cache: false });
    assert.equal(bypass.headers.get("x-llm-cache"), "BYPASS");
    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], cache: true };
    const a = await t.call("POST", "/v1/chat/completions", t.memberA, body);
    await t.world.settle();
    const b = await t.call("POST", "/v1/chat/completions", t.memberA, body);
    assert.equal(a.headers.get("x-llm-cache"), "MISS");
    assert.equal(b.headers.get("x-llm-cache"), "HIT");
    assert.equal(b.json.choices[0].message.content, a.json.choices[0].message.content);
    assert.equal(t.world.mock.requests.length, 3);
  } finally {
    await t.close();
  }
});

Deno.test("audit: every request is audited (who, what, provider, outcome) without its prompt; the budget alert once", async () => {
  const t = await guardWorld();
  try {
    await t.call("PUT", "/budgets", t.adminA, { dailyLimitUsd: 0.0000001, alertThreshold: 0.5 });
    await t.ask(t.memberA, { prompt: "a very private question" });
    await t.ask(t.memberA, { prompt: "a second private question" });
    await t.world.settle();
    const rows = await t.db!.query<{
      action: string;
      actor_user_id: string | null;
      provider: string | null;
      outcome: string | null;
      details: Record<string, unknown>;
    }>(
      "select action, actor_user_id, provider, outcome, details from llm_audit_log where account_id = $1 order by id",
      [ACCOUNT_A],
    );
    const requests = rows.filter((r) => r.action === "llm.request");
    assert.equal(requests.length, 2);
    assert.equal(requests[0].actor_user_id, USER_A);
    assert.equal(requests[0].provider, "openai");
    assert.equal(requests[0].outcome, "ok");
    assert.equal(requests[1].outcome, "PAYMENT_REQUIRED");
    assert.ok(!JSON.stringify(rows).includes("private question"));
    assert.equal(rows.filter((r) => r.action === "budget.alert").length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("audit: with LLM_AUDIT_PROMPTS the prompt is kept, secrets redacted", async () => {
  const t = await guardWorld({ LLM_AUDIT_PROMPTS: "true" });
  try {
    await t.ask(t.memberA, { prompt: "use key sk-proj-abcdefghijklmnopqrstuvwxyz123456 please" });
    await t.world.settle();
    const rows = await t.db!.query<{ details: { prompt?: string } }>(
      "select details from llm_audit_log where action = 'llm.request'",
    );
    assert.match(rows[0].details.prompt!, /^user: use key/);
    assert.doesNotMatch(rows[0].details.prompt!, /abcdefghijklmnop/);
  } finally {
    await t.close();
  }
});

Deno.test("store failure: guards fail open by default (logged), or closed with 503 GUARD_UNAVAILABLE", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const env = { UPSTASH_REDIS_REST_URL: deadUrl, UPSTASH_REDIS_REST_TOKEN: "t" };
  const open = await guardWorld(env, false);
  try {
    const answer = await open.ask();
    assert.equal(answer.status, 200);
    assert.ok(open.world.logs.some((l) => l.includes('"guard_unavailable"')));
    assert.ok(!open.world.logs.some((l) => l.includes('"t"') && l.includes("token")));
  } finally {
    await open.close();
  }
  const closed = await guardWorld({ ...env, LLM_GUARDS_FAIL_CLOSED: "true" }, false);
  try {
    const refused = await closed.ask();
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.code, "GUARD_UNAVAILABLE");
    assert.equal(closed.world.mock.requests.length, 0);
  } finally {
    await closed.close();
  }
});

Deno.test("health: llm-router reports its store and the audit queue's counters", async () => {
  const t = await guardWorld();
  try {
    await t.ask();
    await t.world.settle();
    const health = await (await fetch(`${t.world.url}/health`)).json();
    assert.equal(health.store, "memory");
    assert.equal(health.auditQueue.written, 1);
    assert.equal(health.auditQueue.dropped, 0);
    assert.equal(health.auditQueue.queued, 0);
  } finally {
    await t.close();
  }
});
