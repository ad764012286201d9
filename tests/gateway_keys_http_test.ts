/**
 * Gateway keys through llm-router over HTTP with a database: an admin makes
 * a key and sees its secret once; the key calls the native, OpenAI chat,
 * embeddings, Anthropic Messages and Responses entrances (the official SDKs
 * send it as `Authorization: Bearer` and `x-api-key`); its usage rows, audit
 * rows and metrics name it; its allowance, budget and rate limit are
 * enforced before any upstream call; revoked or expired it is a 401; it acts
 * for its own account only; and its secret appears in no later response and
 * no log line.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { callJson, type JsonCall, routerHttpWorld } from "./helpers/router-http-world.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { MAX_ACTIVE_KEYS } from "../supabase/functions/llm-router/keys-api.ts";
import { readMetrics } from "../supabase/functions/_shared/metrics/snapshot.ts";
import { summarize } from "../supabase/functions/_shared/metrics/summary.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const ADMIN_A = "a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2";
const MEMBER_A = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";
const ADMIN_B = "b2b2b2b2-b2b2-4b2b-8b2b-b2b2b2b2b2b2";

async function keysWorld(
  options: {
    db?: TestDb;
    store?: MemoryStateStore;
    now?: () => number;
    env?: Record<string, string>;
  } = {},
) {
  const database = options.db ?? await freshDb();
  const store = options.store ?? new MemoryStateStore(options.now);
  const world = await routerHttpWorld(options.env ?? {}, {
    db: database.db,
    store,
    now: options.now,
  });
  const token = (sub: string, account: string, role: string) =>
    signToken({ sub, app_metadata: { account_id: account, role } });
  /** Every answer after a key was made, to check none holds its secret. */
  const answers: string[] = [];
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const answer = await callJson(method, `${world.url}${path}`, token, body);
    answers.push(answer.text);
    return answer;
  };
  return {
    world,
    store,
    db: database,
    answers,
    adminA: await token(ADMIN_A, ACCOUNT_A, "admin"),
    memberA: await token(MEMBER_A, ACCOUNT_A, "member"),
    adminB: await token(ADMIN_B, ACCOUNT_B, "admin"),
    call,
    /** Makes a key as account A's admin; returns its id and secret. */
    async makeKey(body: Record<string, unknown> = {}, admin?: string) {
      const made = await call("POST", "/keys", admin ?? this.adminA, { name: "ci", ...body });
      assert.equal(made.status, 201, made.text);
      return { id: made.json.key.id as string, secret: made.json.secret as string, made };
    },
    async close(closeDb = true) {
      await world.settle();
      await world.close();
      if (closeDb) await database.close();
    },
  };
}

type KeysWorld = Awaited<ReturnType<typeof keysWorld>>;

const ask = (t: KeysWorld, secret: string, body: Record<string, unknown> = {}) =>
  t.call("POST", "", secret, { prompt: "hi", maxTokens: 20, ...body });

Deno.test("gateway keys: made once, used on every entrance, named in usage, audit and metrics, revoked → 401, secret never seen again", async () => {
  const t = await keysWorld();
  try {
    const { id, secret, made } = await t.makeKey({ name: "ci deploys" });
    assert.match(secret, /^llmk_[A-Za-z0-9_-]{43}$/);
    assert.equal(made.json.key.prefix, secret.slice(0, 12));
    assert.equal(made.json.key.status, "active");
    assert.ok(!("keyHash" in made.json.key) && !made.text.includes("hash"));

    // Native API, bearer.
    const native = await ask(t, secret);
    assert.equal(native.status, 200, native.text);
    // OpenAI chat completions and embeddings through the official SDK (bearer).
    const openai = new OpenAI({ apiKey: secret, baseURL: `${t.world.url}/v1`, maxRetries: 0 });
    const chat = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.ok(chat.choices[0].message.content);
    const embedded = await openai.embeddings.create({
      model: "text-embedding-3-small",
      input: "hi",
    });
    assert.equal(embedded.data.length, 1);
    // OpenAI Responses through the SDK.
    const response = await openai.responses.create({ model: "gpt-4o-mini", input: "hi" });
    assert.ok(response.output_text);
    // Anthropic Messages through its SDK: the key goes in x-api-key.
    const anthropic = new Anthropic({ apiKey: secret, baseURL: t.world.url, maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 20,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(message.content[0].type, "text");
    const counted = await anthropic.messages.countTokens({
      model: "claude-haiku-4-5",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.ok(counted.input_tokens > 0);
    await t.world.settle();

    // Usage rows and audit rows name the key, never its secret; the use is noted.
    const usage = await t.db.db.query<{ key_id: string; account_id: string; status: string }>(
      "select key_id, account_id, status from llm_usage order by id",
    );
    assert.equal(usage.length, 5);
    for (const row of usage) {
      assert.deepEqual(row, { key_id: id, account_id: ACCOUNT_A, status: "ok" });
    }
    const audit = await t.db.db.query<{ key_id: string | null; action: string }>(
      "select key_id, action from llm_audit_log where action = 'llm.request'",
    );
    assert.equal(audit.length, 5);
    assert.ok(audit.every((row) => row.key_id === id));
    const made_ = await t.db.db.query<{ action: string; key_id: string | null; target: string }>(
      "select action, key_id, target from llm_audit_log where action like 'gateway_key.%'",
    );
    assert.deepEqual(made_, [{ action: "gateway_key.create", key_id: null, target: `key:${id}` }]);
    // Metrics: the key's own series, inside its account's.
    const metrics = await readMetrics(t.store, ACCOUNT_A, id);
    assert.equal(
      summarize(metrics.series.reduce((all, s) => {
        for (const [field, n] of Object.entries(s.counts)) all[field] = (all[field] ?? 0) + n;
        return all;
      }, {} as Record<string, number>)).requests,
      5,
    );

    // The list shows it by name and prefix, with its last use; members may read it too.
    const listed = await t.call("GET", "/keys", t.memberA);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.keys.length, 1);
    const [shown] = listed.json.keys;
    assert.equal(shown.name, "ci deploys");
    assert.equal(shown.prefix, secret.slice(0, 12));
    assert.ok(shown.lastUsedAt);

    // Revoked: refused at once, in every entrance's own error shape.
    const revoked = await t.call("DELETE", `/keys/${id}`, t.adminA);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.key.status, "revoked");
    const refused = await ask(t, secret);
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, "AUTH_KEY_REVOKED");
    await assert.rejects(
      anthropic.messages.create({
        model: "claude-haiku-4-5",
        max_tokens: 20,
        messages: [{ role: "user", content: "hi" }],
      }),
      (error: unknown) => error instanceof Anthropic.AuthenticationError,
    );
    // Revoking again is no error; the list says revoked.
    assert.equal((await t.call("DELETE", `/keys/${id}`, t.adminA)).status, 200);
    const after = await t.call("GET", "/keys", t.adminA);
    assert.equal(after.json.keys[0].status, "revoked");

    await t.world.settle();
    // The secret was in the one answer that made the key, and in nothing after it.
    assert.deepEqual(t.answers.filter((text) => text.includes(secret)), [made.text]);
    assert.ok(!t.world.logs.some((line) => line.includes(secret)), "no log line holds the key");
    assert.ok(!t.world.logs.some((line) => line.includes(secret.slice(5))), "nor its random part");
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: a model or use case outside the key's allowance is 403 with a code and no upstream call", async () => {
  const t = await keysWorld();
  try {
    const { secret } = await t.makeKey({
      allowedModels: ["claude-haiku-4-5"],
      allowedUseCases: ["general", "summary"],
    });
    const before = t.world.mock.requests.length;
    const model = await ask(t, secret, { modelOverride: "gpt-4o" });
    assert.equal(model.status, 403, model.text);
    assert.equal(model.json.error.code, "MODEL_NOT_ALLOWED");
    assert.equal(model.json.error.model, "gpt-4o");
    const useCase = await ask(t, secret, { useCase: "complex" });
    assert.equal(useCase.status, 403, useCase.text);
    assert.equal(useCase.json.error.code, "USE_CASE_NOT_ALLOWED");
    // The same through the SDKs: their typed permission errors.
    const openai = new OpenAI({ apiKey: secret, baseURL: `${t.world.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      openai.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "hi" }],
      }),
      (error: unknown) => error instanceof OpenAI.PermissionDeniedError,
    );
    await assert.rejects(
      openai.embeddings.create({ model: "text-embedding-3-small", input: "hi" }),
      (error: unknown) => error instanceof OpenAI.PermissionDeniedError,
    );
    assert.equal(t.world.mock.requests.length, before, "nothing reached a provider");
    // The model list shows the key what it may use.
    const listed = (await openai.models.list()).data.map((m) => m.id);
    assert.ok(listed.includes("claude-haiku-4-5"));
    assert.ok(!listed.some((id) => id.startsWith("gpt-")), listed.join(","));

    // Routed by use case, the chain's models outside the allowance are skipped, not called.
    const routed = await ask(t, secret, { useCase: "summary" });
    assert.equal(routed.status, 200, routed.text);
    assert.equal(routed.headers.get("x-llm-model"), "claude-haiku-4-5");
    assert.deepEqual(t.world.mock.requests.slice(before).map((r) => r.model), ["claude-haiku-4-5"]);
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: a route with no allowed model is 403 MODEL_NOT_ALLOWED without a call", async () => {
  const t = await keysWorld();
  try {
    // Allowed, but not on the general route (and no override names it).
    const { secret } = await t.makeKey({ allowedModels: ["gpt-4o"] });
    const before = t.world.mock.requests.length;
    const answer = await ask(t, secret, { useCase: "draft" });
    assert.equal(answer.status, 403, answer.text);
    assert.equal(answer.json.error.code, "MODEL_NOT_ALLOWED");
    assert.equal(t.world.mock.requests.length, before);
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: a request naming no use case is held to the one its route takes", async () => {
  const t = await keysWorld();
  try {
    const { secret } = await t.makeKey({ allowedUseCases: ["summary"] });
    const before = t.world.mock.requests.length;
    const general = await ask(t, secret);
    assert.equal(general.status, 403, general.text);
    assert.equal(general.json.error.code, "USE_CASE_NOT_ALLOWED");
    assert.equal(general.json.error.useCase, "general");
    assert.equal(t.world.mock.requests.length, before);
    assert.equal((await ask(t, secret, { useCase: "summary" })).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: the key's own budget is 402 for that key only, before any upstream call", async () => {
  const t = await keysWorld();
  try {
    const capped = await t.makeKey({ name: "capped", budget: { dailyLimitUsd: 0 } });
    const free = await t.makeKey({ name: "uncapped" });
    const before = t.world.mock.requests.length;
    const refused = await ask(t, capped.secret);
    assert.equal(refused.status, 402, refused.text);
    assert.equal(refused.json.error.code, "PAYMENT_REQUIRED");
    assert.equal(refused.json.error.keyId, capped.id);
    assert.match(refused.json.error.message, /budget of this gateway key is spent/);
    assert.equal(t.world.mock.requests.length, before);
    // The account has no budget of its own: its other key is not held to this one's.
    assert.equal((await ask(t, free.secret)).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: a key's budget starts from the spend recorded with that key", async () => {
  const t = await keysWorld();
  try {
    const { id, secret } = await t.makeKey({ budget: { dailyLimitUsd: 1 } });
    await t.db.db.query(
      "insert into llm_usage (account_id, key_id, provider, model, status, cost_usd) values ($1, $2, 'openai', 'gpt-4o-mini', 'ok', 1)",
      [ACCOUNT_A, id],
    );
    const refused = await ask(t, secret);
    assert.equal(refused.status, 402, refused.text);
    assert.equal(refused.json.error.spentUsd, 1);
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: the key's own rate limit is 429 and leaves its account's bucket alone", async () => {
  // The account's bucket holds 4 requests: the slow key's refusals must not spend them.
  const t = await keysWorld({ env: { LLM_RATE_LIMIT_RPS: "0.001", LLM_RATE_LIMIT_BURST: "4" } });
  try {
    const slow = await t.makeKey({
      name: "slow",
      rateLimit: { requestsPerSecond: 0.001, burst: 2 },
    });
    const other = await t.makeKey({ name: "other" });
    const statuses: number[] = [];
    let last: JsonCall | undefined;
    for (let i = 0; i < 5; i++) {
      last = await ask(t, slow.secret);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 429, 429, 429]);
    assert.equal(last!.json.error.code, "RATE_LIMIT_EXCEEDED");
    assert.match(last!.json.error.message, /gateway key's rate limit/);
    assert.equal(last!.headers.get("x-ratelimit-limit-requests"), "2");
    assert.ok(last!.headers.get("retry-after"));
    const others: number[] = [];
    for (let i = 0; i < 3; i++) others.push((await ask(t, other.secret)).status);
    // The slow key spent 2 of the account's 4; the other key's third request finds none left.
    assert.deepEqual(others, [200, 200, 429]);
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: a key acts for its own account only, and only on the model entrances", async () => {
  const t = await keysWorld();
  try {
    const { id, secret } = await t.makeKey();
    const elsewhere = await ask(t, secret, { accountId: ACCOUNT_B });
    assert.equal(elsewhere.status, 403, elsewhere.text);
    assert.equal(elsewhere.json.error.code, "FORBIDDEN");
    // Another account's admin neither sees nor revokes it.
    const listedByB = await t.call("GET", "/keys", t.adminB);
    assert.deepEqual(listedByB.json.keys, []);
    const revokedByB = await t.call("DELETE", `/keys/${id}`, t.adminB);
    assert.equal(revokedByB.status, 404);
    assert.equal((await ask(t, secret)).status, 200, "still works");
    // A key manages nothing: not keys, not budgets, not preferences.
    for (
      const [method, path] of [
        ["GET", "/keys"],
        ["POST", "/keys"],
        ["GET", "/budgets"],
        ["PUT", "/agents/x/preferences"],
      ]
    ) {
      const answer = await t.call(method, path, secret, method === "GET" ? undefined : {});
      assert.equal(answer.status, 403, `${method} ${path}: ${answer.text}`);
      assert.equal(answer.json.error.code, "KEY_NOT_PERMITTED");
    }
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: unknown, malformed and expired keys are 401s that say which", async () => {
  let now = Date.now();
  const t = await keysWorld({ now: () => now });
  try {
    const { secret } = await t.makeKey({ expiresAt: new Date(now + 60_000).toISOString() });
    assert.equal((await ask(t, secret)).status, 200);
    now += 120_000;
    const expired = await ask(t, secret);
    assert.equal(expired.status, 401);
    assert.equal(expired.json.error.code, "AUTH_KEY_EXPIRED");
    assert.match(expired.headers.get("www-authenticate") ?? "", /llm-router/);
    const unknown = `llmk_${"A".repeat(43)}`;
    for (const presented of [unknown, "llmk_short", `${secret}x`]) {
      const answer = await ask(t, presented);
      assert.equal(answer.status, 401, presented.slice(0, 8));
      assert.equal(answer.json.error.code, "AUTH_KEY_INVALID");
    }
    // Sent as x-api-key, as Anthropic's tools do.
    const viaHeader = await fetch(`${t.world.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": unknown, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 5, messages: [] }),
    });
    assert.equal(viaHeader.status, 401);
    assert.equal((await viaHeader.json()).error.type, "authentication_error");
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: only admins make and revoke keys, and bad requests are 400s naming the field", async () => {
  const t = await keysWorld();
  try {
    const member = await t.call("POST", "/keys", t.memberA, { name: "mine" });
    assert.equal(member.status, 403);
    const { id } = await t.makeKey();
    assert.equal((await t.call("DELETE", `/keys/${id}`, t.memberA)).status, 403);
    const cases: [Record<string, unknown>, string][] = [
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "x", allowedModels: ["gpt-99"] }, "allowedModels[0]"],
      [{ name: "x", allowedModels: [] }, "allowedModels"],
      [{ name: "x", allowedUseCases: ["everything"] }, "allowedUseCases[0]"],
      [{ name: "x", expiresAt: "2001-01-01T00:00:00Z" }, "expiresAt"],
      [{ name: "x", expiresAt: "tomorrow" }, "expiresAt"],
      [{ name: "x", budget: {} }, "budget"],
      [{ name: "x", budget: { dailyLimitUsd: 1, timeZone: "Mars/Base" } }, "budget.timeZone"],
      [{ name: "x", rateLimit: { requestsPerSecond: 0, burst: 1 } }, "rateLimit.requestsPerSecond"],
      [{ name: "x", secret: "llmk_mine" }, "secret"],
      [
        { name: "x", budget: { dailyLimitUsd: 1, alertThreshold: 0.0001 } },
        "budget.alertThreshold",
      ],
    ];
    for (const [body, field] of cases) {
      const answer = await t.call("POST", "/keys", t.adminA, body);
      assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${answer.text}`);
      assert.equal(answer.json.error.field, field, JSON.stringify(body));
    }
    assert.equal((await t.call("DELETE", "/keys/not-a-uuid", t.adminA)).status, 404);
    const rows = await t.db.db.query("select 1 from llm_gateway_keys");
    assert.equal(rows.length, 1, "no bad request made a key");
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: an account holds at most MAX_ACTIVE_KEYS active keys; revoking one makes room", async () => {
  const t = await keysWorld();
  try {
    // Filled straight in the table: a hundred API calls would only be slower.
    await t.db.db.query(
      `insert into llm_gateway_keys (account_id, name, prefix, key_hash)
         select $1, 'bulk-' || n, 'llmk_bulk' || n, md5(n::text) || md5(n::text) from generate_series(1, $2::int) n`,
      [ACCOUNT_A, MAX_ACTIVE_KEYS - 1],
    );
    const { id } = await t.makeKey();
    const full = await t.call("POST", "/keys", t.adminA, { name: "one too many" });
    assert.equal(full.status, 409);
    assert.equal(full.json.error.code, "KEY_LIMIT_REACHED");
    assert.equal((await t.call("DELETE", `/keys/${id}`, t.adminA)).status, 200);
    assert.equal((await t.call("POST", "/keys", t.adminA, { name: "room again" })).status, 201);
  } finally {
    await t.close();
  }
});

Deno.test("gateway keys: a revoked key fails at once where isolates share a store, and within the lookup cache (60 s) where they do not", async () => {
  let now = Date.now();
  const clock = () => now;
  const db = await freshDb();
  const shared = new MemoryStateStore(clock);
  const first = await keysWorld({ db, store: shared, now: clock });
  const sharing = await keysWorld({ db, store: shared, now: clock });
  const apart = await keysWorld({ db, store: new MemoryStateStore(clock), now: clock });
  try {
    const { id, secret } = await first.makeKey();
    for (const world of [first, sharing, apart]) {
      assert.equal((await ask(world, secret)).status, 200);
    }
    assert.equal((await first.call("DELETE", `/keys/${id}`, first.adminA)).status, 200);
    assert.equal((await ask(sharing, secret)).status, 401);
    // Its own store still holds the lookup it made a moment ago …
    assert.equal((await ask(apart, secret)).status, 200);
    now += 61_000;
    // … for a minute at most.
    assert.equal((await ask(apart, secret)).status, 401);
  } finally {
    await first.close(false);
    await sharing.close(false);
    await apart.close(false);
    await db.close();
  }
});
