/**
 * The caller's rate limit, as callers see it: OpenAI's `x-ratelimit-*`
 * headers on every routed llm-router answer (native and OpenAI-compatible,
 * JSON and SSE, embeddings, a cache hit, and the bucket's own 429), taken
 * from the take itself (no extra store operation); `GET /rate-limits/status`
 * reads the bucket without taking from it; server keys refill an account's
 * bucket with `POST /rate-limits/reset`, audited.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { readSse } from "./helpers/sse.ts";
import { durationText } from "../supabase/functions/llm-router/rate-limit-headers.ts";
import {
  MemoryStateStore,
  type StateStore,
} from "../supabase/functions/_shared/store/state-store.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const USER_A = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";
const ADMIN_A = "a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2";
const USER_B = "b1b1b1b1-b1b1-4b1b-8b1b-b1b1b1b1b1b1";

/** A router over HTTP on a clock that moves only when the test moves it. */
async function limitWorld(
  env: Record<string, string | undefined>,
  options: { withDb?: boolean; store?: StateStore } = {},
) {
  const database: TestDb | undefined = options.withDb ? await freshDb() : undefined;
  let clock = Date.now();
  const world = await routerHttpWorld(env, {
    db: database?.db,
    store: options.store,
    now: () => clock,
  });
  const token = (sub: string, account: string, role: string) =>
    signToken({ sub, app_metadata: { account_id: account, role } });
  const memberA = await token(USER_A, ACCOUNT_A, "member");
  return {
    world,
    db: database?.db,
    memberA,
    adminA: await token(ADMIN_A, ACCOUNT_A, "admin"),
    memberB: await token(USER_B, ACCOUNT_B, "member"),
    advance(ms: number) {
      clock += ms;
    },
    call(method: string, path: string, token: string, body?: unknown) {
      return callJson(method, `${world.url}${path}`, token, body);
    },
    ask(token = memberA, body: Record<string, unknown> = {}) {
      return this.call("POST", "", token, { prompt: "hello there", maxTokens: 20, ...body });
    },
    async close() {
      await world.settle();
      await world.close();
      await database?.close();
    },
  };
}

/** The three headers of `headers`, as `[limit, remaining, reset]`. */
function limits(headers: Headers): (string | null)[] {
  return [
    headers.get("x-ratelimit-limit-requests"),
    headers.get("x-ratelimit-remaining-requests"),
    headers.get("x-ratelimit-reset-requests"),
  ];
}

/** Posts `body` to `path` and returns the answer's headers, its body read whole (a stream to its end). */
async function postRead(url: string, token: string, body: unknown) {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const streamed = response.headers.get("content-type")?.startsWith("text/event-stream");
  const events = streamed ? await readSse(response) : [];
  if (!streamed) await response.body?.cancel();
  return { status: response.status, headers: response.headers, events };
}

Deno.test("rate-limit headers: every routed answer (native, chat completions, embeddings; JSON and SSE; a cache hit) reports the caller's bucket", async () => {
  // 2 requests per second, bursts of 8: each request's token takes 500 ms to come back.
  const t = await limitWorld({ LLM_RATE_LIMIT_RPS: "2", LLM_RATE_LIMIT_BURST: "8" });
  try {
    const url = t.world.url;
    const nativeJson = await t.ask();
    assert.equal(nativeJson.status, 200, nativeJson.text);
    assert.deepEqual(limits(nativeJson.headers), ["8", "7", "500ms"]);

    const nativeSse = await postRead(url, t.memberA, { prompt: "hi", maxTokens: 20, stream: true });
    assert.equal(nativeSse.status, 200);
    assert.ok(nativeSse.events.length > 0);
    assert.deepEqual(limits(nativeSse.headers), ["8", "6", "1s"]);

    const messages = [{ role: "user", content: "hi" }];
    const completions = await postRead(`${url}/v1/chat/completions`, t.memberA, {
      model: "auto",
      messages,
    });
    assert.equal(completions.status, 200);
    assert.deepEqual(limits(completions.headers), ["8", "5", "1.5s"]);

    const completionsSse = await postRead(`${url}/v1/chat/completions`, t.memberA, {
      model: "auto",
      messages,
      stream: true,
    });
    assert.equal(completionsSse.status, 200);
    assert.equal(completionsSse.events.at(-1)!.data, "[DONE]");
    assert.deepEqual(limits(completionsSse.headers), ["8", "4", "2s"]);

    const embeddings = await postRead(`${url}/v1/embeddings`, t.memberA, {
      model: "text-embedding-3-small",
      input: ["one", "two"],
    });
    assert.equal(embeddings.status, 200);
    assert.deepEqual(limits(embeddings.headers), ["8", "3", "2.5s"]);

    // A cache hit takes its token too (the bucket counts requests, not upstream calls).
    assert.equal((await t.ask(t.memberA, { cache: true })).headers.get("x-llm-cache"), "MISS");
    const hit = await t.ask(t.memberA, { cache: true });
    assert.equal(hit.headers.get("x-llm-cache"), "HIT");
    assert.deepEqual(limits(hit.headers), ["8", "1", "3.5s"]);

    // Time refills the bucket: 1.5 s later three tokens are back.
    t.advance(1_500);
    assert.deepEqual(limits((await t.ask()).headers), ["8", "3", "2.5s"]);
    // Another account has a bucket of its own.
    assert.deepEqual(limits((await t.ask(t.memberB)).headers), ["8", "7", "500ms"]);
  } finally {
    await t.close();
  }
});

Deno.test("rate-limit headers: the bucket's own 429 carries them, in the native shape and OpenAI's", async () => {
  const t = await limitWorld({ LLM_RATE_LIMIT_RPS: "0.5", LLM_RATE_LIMIT_BURST: "2" });
  try {
    assert.deepEqual(limits((await t.ask()).headers), ["2", "1", "2s"]);
    assert.deepEqual(limits((await t.ask()).headers), ["2", "0", "4s"]);
    const native = await t.ask();
    assert.equal(native.status, 429);
    assert.equal(native.json.error.code, "RATE_LIMIT_EXCEEDED");
    assert.equal(native.headers.get("retry-after"), "2");
    assert.deepEqual(limits(native.headers), ["2", "0", "4s"]);
    const openAI = await t.call("POST", "/v1/chat/completions", t.memberA, {
      model: "auto",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(openAI.status, 429);
    assert.equal(openAI.json.error.type, "rate_limit_error");
    assert.deepEqual(limits(openAI.headers), ["2", "0", "4s"]);
    const embeddings = await t.call("POST", "/v1/embeddings", t.memberA, {
      model: "text-embedding-3-small",
      input: "hi",
    });
    assert.equal(embeddings.status, 429);
    assert.deepEqual(limits(embeddings.headers), ["2", "0", "4s"]);
    assert.equal(t.world.mock.requests.length, 2, "no refused request reached a provider");
  } finally {
    await t.close();
  }
});

Deno.test("rate-limit headers: absent when no limit applies (default off, or server code acting for no account)", async () => {
  const t = await limitWorld({ LLM_RATE_LIMIT_RPS: "0" });
  try {
    const answer = await t.ask();
    assert.equal(answer.status, 200);
    assert.deepEqual(limits(answer.headers), [null, null, null]);
  } finally {
    await t.close();
  }
  const s = await limitWorld({ LLM_RATE_LIMIT_RPS: "1", LLM_RATE_LIMIT_BURST: "5" });
  try {
    const server = await s.ask(SERVICE_KEY);
    assert.equal(server.status, 200, server.text);
    assert.deepEqual(limits(server.headers), [null, null, null]);
  } finally {
    await s.close();
  }
});

Deno.test("rate-limit headers: a routed request runs one bucket operation, the take; nothing reads the bucket again", async () => {
  const operations: string[] = [];
  const inner = new MemoryStateStore();
  const store: StateStore = {
    kind: "memory",
    get: (key) => inner.get(key),
    set: (key, value, ttl) => inner.set(key, value, ttl),
    setIfAbsent: (key, value, ttl) => inner.setIfAbsent(key, value, ttl),
    delete: (...keys) => inner.delete(...keys),
    run: (operation, key, args) => {
      operations.push(`${operation.name} ${key}`);
      return inner.run(operation, key, args);
    },
  };
  const t = await limitWorld({ LLM_RATE_LIMIT_RPS: "1", LLM_RATE_LIMIT_BURST: "5" }, { store });
  try {
    const answer = await t.ask();
    assert.deepEqual(limits(answer.headers), ["5", "4", "1s"]);
    const bucketOps = operations.filter((op) => op.includes("rate:"));
    assert.deepEqual(bucketOps, [`take_tokens rate:acct:${ACCOUNT_A}`]);
  } finally {
    await t.close();
  }
});

Deno.test("rate-limit status: reads the caller's bucket without taking a token; ?accountId= as elsewhere", async () => {
  const t = await limitWorld({ LLM_RATE_LIMIT_RPS: "2", LLM_RATE_LIMIT_BURST: "4" }, {
    withDb: true,
  });
  try {
    const fresh = await t.call("GET", "/rate-limits/status", t.memberA);
    assert.equal(fresh.status, 200, fresh.text);
    assert.deepEqual(fresh.json, {
      accountId: ACCOUNT_A,
      scope: `acct:${ACCOUNT_A}`,
      source: "default",
      limited: false,
      tokensAvailable: 4,
      refillPerSecond: 2,
      burst: 4,
      resetMs: 0,
      retryAfterMs: 0,
    });

    await t.ask();
    await t.ask();
    for (let i = 0; i < 3; i++) {
      const read = await t.call("GET", "/rate-limits/status", t.memberA);
      assert.equal(read.json.tokensAvailable, 2, "a status read takes nothing");
      assert.equal(read.json.resetMs, 1_000);
    }
    assert.deepEqual(limits((await t.ask()).headers), ["4", "1", "1.5s"]);
    await t.ask();
    const empty = await t.call("GET", "/rate-limits/status", t.memberA);
    assert.equal(empty.json.limited, true);
    assert.equal(empty.json.tokensAvailable, 0);
    assert.equal(empty.json.retryAfterMs, 500);
    assert.equal(empty.json.resetMs, 2_000);
    t.advance(500);
    const refilled = await t.call("GET", "/rate-limits/status", t.memberA);
    assert.equal(refilled.json.limited, false);
    assert.equal(refilled.json.tokensAvailable, 1);

    // Server code and the account's admins read it too; another account's member may not.
    const byService = await t.call(
      "GET",
      `/rate-limits/status?accountId=${ACCOUNT_A}`,
      SERVICE_KEY,
    );
    assert.equal(byService.json.tokensAvailable, 1);
    assert.equal((await t.call("GET", "/rate-limits/status", t.adminA)).json.tokensAvailable, 1);
    const other = await t.call("GET", `/rate-limits/status?accountId=${ACCOUNT_A}`, t.memberB);
    assert.equal(other.status, 403);
    assert.equal((await t.call("GET", "/rate-limits/status", t.memberB)).json.tokensAvailable, 4);
    const noAccount = await t.call("GET", "/rate-limits/status", SERVICE_KEY);
    assert.equal(noAccount.status, 400);
    assert.equal(noAccount.json.error.field, "accountId");

    // An account's own limit is the bucket the status reads.
    const put = await t.call("PUT", `/rate-limits?accountId=${ACCOUNT_B}`, SERVICE_KEY, {
      requestsPerSecond: 0.1,
      burst: 2,
    });
    assert.equal(put.status, 200, put.text);
    const own = await t.call("GET", "/rate-limits/status", t.memberB);
    assert.equal(own.json.source, "account");
    assert.equal(own.json.burst, 2);
    assert.equal(own.json.refillPerSecond, 0.1);
    assert.equal(own.json.tokensAvailable, 2);
  } finally {
    await t.close();
  }
});

Deno.test("rate-limit status: with no limit the status says so", async () => {
  const t = await limitWorld({ LLM_RATE_LIMIT_RPS: "0" });
  try {
    const status = await t.call("GET", "/rate-limits/status", t.memberA);
    assert.equal(status.status, 200, status.text);
    assert.deepEqual(status.json, {
      accountId: ACCOUNT_A,
      scope: `acct:${ACCOUNT_A}`,
      source: "none",
      limited: false,
      tokensAvailable: null,
      refillPerSecond: null,
      burst: null,
      resetMs: 0,
      retryAfterMs: 0,
    });
  } finally {
    await t.close();
  }
});

Deno.test("rate-limit reset: server keys refill an account's bucket, audited; 403 for anyone else, 400 without accountId", async () => {
  const t = await limitWorld({ LLM_RATE_LIMIT_RPS: "0.01", LLM_RATE_LIMIT_BURST: "2" }, {
    withDb: true,
  });
  try {
    await t.ask();
    await t.ask();
    await t.ask(t.memberB);
    assert.equal((await t.ask()).status, 429);

    const path = `/rate-limits/reset?accountId=${ACCOUNT_A}`;
    for (const token of [t.memberA, t.adminA]) {
      const refused = await t.call("POST", path, token);
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.code, "FORBIDDEN");
    }
    const missing = await t.call("POST", "/rate-limits/reset", SERVICE_KEY);
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.field, "accountId");
    assert.equal(
      (await t.call("POST", "/rate-limits/reset?accountId=nope", SERVICE_KEY)).status,
      400,
    );
    assert.equal((await t.ask()).status, 429, "nothing was reset by the refused calls");

    const reset = await t.call("POST", path, SERVICE_KEY);
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual(reset.json, { accountId: ACCOUNT_A, scope: `acct:${ACCOUNT_A}`, reset: true });
    const status = await t.call("GET", "/rate-limits/status", t.memberA);
    assert.equal(status.json.tokensAvailable, 2);
    assert.equal(status.json.limited, false);
    assert.deepEqual(limits((await t.ask()).headers), ["2", "1", "1m40s"]);
    // Only that account's bucket: B's stays where it was.
    assert.equal((await t.call("GET", "/rate-limits/status", t.memberB)).json.tokensAvailable, 1);

    await t.world.settle();
    const rows = await t.db!.query<{ account_id: string; actor_role: string; target: string }>(
      "select account_id, actor_role, target from llm_audit_log where action = 'rate_limit.reset'",
    );
    assert.deepEqual(rows, [{ account_id: ACCOUNT_A, actor_role: "service", target: "account" }]);
  } finally {
    await t.close();
  }
});

Deno.test("rate-limit reset time: written as OpenAI writes durations", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [0.2, "1ms"],
    [120, "120ms"],
    [999, "999ms"],
    [1_000, "1s"],
    [1_500, "1.5s"],
    [59_999, "59.999s"],
    [60_000, "1m0s"],
    [360_000, "6m0s"],
    [100_000, "1m40s"],
    [3_600_000, "1h0m0s"],
    [3_723_004, "1h2m3.004s"],
  ];
  for (const [ms, text] of cases) assert.equal(durationText(ms), text, String(ms));
});
