/**
 * Tenancy through llm-router over HTTP with a real database: agent
 * preferences take effect on the next request, accounts' own provider keys
 * serve only that account and never show, usage is recorded per request.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { PreferenceRepository } from "../supabase/functions/_shared/data/preferences.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const USER_A = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";
const ADMIN_A = "a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2";
const USER_B = "b1b1b1b1-b1b1-4b1b-8b1b-b1b1b1b1b1b1";
const MASTER_KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i + 7)));
const TENANT_KEY = "sk-tenant-a-0123456789abcdefXYZ";

async function tenancyWorld(env: Record<string, string | undefined> = {}) {
  const database: TestDb = await freshDb();
  const world = await routerHttpWorld({ LLM_KEY_ENCRYPTION_KEYS: `v1:${MASTER_KEY}`, ...env }, {
    db: database.db,
  });
  const token = (sub: string, account: string, role: string) =>
    signToken({ sub, app_metadata: { account_id: account, role } });
  return {
    world,
    db: database.db,
    memberA: await token(USER_A, ACCOUNT_A, "member"),
    adminA: await token(ADMIN_A, ACCOUNT_A, "admin"),
    memberB: await token(USER_B, ACCOUNT_B, "member"),
    call(method: string, path: string, token: string, body?: unknown) {
      return callJson(method, `${world.url}${path}`, token, body);
    },
    async close() {
      await world.settle();
      await world.close();
      await database.close();
    },
  };
}

Deno.test("preferences: a change takes effect on the very next request, and deleting it restores the default", async () => {
  const t = await tenancyWorld();
  try {
    const ask = () => t.call("POST", "", t.memberA, { prompt: "hi", agentId: "writer" });
    assert.equal((await ask()).headers.get("x-llm-model"), "gpt-4o-mini");
    const put = await t.call("PUT", "/agents/writer/preferences", t.memberA, {
      model: "claude-haiku-4-5",
      params: { temperature: 0.3, maxTokens: 300 },
      fallbacks: ["gpt-4o"],
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.preference.provider, "anthropic");
    const first = await ask();
    assert.equal(first.headers.get("x-llm-model"), "claude-haiku-4-5");
    assert.equal(first.headers.get("x-llm-route"), "agent");
    assert.equal((t.world.mock.requests.at(-1)!.body as { max_tokens: number }).max_tokens, 300);
    await t.call("PUT", "/agents/writer/preferences", t.memberA, { model: "gpt-4o" });
    assert.equal((await ask()).headers.get("x-llm-model"), "gpt-4o");
    const got = await t.call("GET", "/agents/writer/preferences", t.memberA);
    assert.equal(got.json.preference.model, "gpt-4o");
    assert.deepEqual(got.json.effective.models.slice(0, 2), ["gpt-4o", "gpt-4o-mini"]);
    assert.equal((await t.call("DELETE", "/agents/writer/preferences", t.memberA)).status, 200);
    assert.equal((await ask()).headers.get("x-llm-model"), "gpt-4o-mini");
    assert.equal((await t.call("DELETE", "/agents/writer/preferences", t.memberA)).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("preferences: the account's own routing rows override the global defaults", async () => {
  const t = await tenancyWorld();
  try {
    await t.db.query(
      "insert into llm_providers (name, provider, model, account_id, use_case, priority) values ('a-general', 'anthropic', 'claude-haiku-4-5', $1, array['general'], 1)",
      [ACCOUNT_A],
    );
    const a = await t.call("POST", "", t.memberA, { prompt: "hi" });
    assert.equal(a.headers.get("x-llm-model"), "claude-haiku-4-5");
    assert.equal(a.headers.get("x-llm-route"), "account");
    const b = await t.call("POST", "", t.memberB, { prompt: "hi" });
    assert.equal(b.headers.get("x-llm-model"), "gpt-4o-mini");
  } finally {
    await t.close();
  }
});

const invalid: [string, Record<string, unknown>, string][] = [
  ["an unknown model", { model: "gpt-99" }, "model"],
  ["an embedding model as chat model", { model: "text-embedding-3-small" }, "model"],
  [
    "a provider that does not serve the model",
    { model: "gpt-4o", provider: "anthropic" },
    "provider",
  ],
  ["a model whose provider has no key", { model: "mistral-large-latest" }, "model"],
  [
    "temperature out of range",
    { model: "gpt-4o", params: { temperature: 5 } },
    "params.temperature",
  ],
  [
    "maxTokens above the model's output",
    { model: "gpt-4o", params: { maxTokens: 999_999 } },
    "params.maxTokens",
  ],
  [
    "an unknown parameter",
    { model: "gpt-4o", params: { frequencyPenalty: 1 } },
    "params.frequencyPenalty",
  ],
  ["an unknown fallback", { model: "gpt-4o", fallbacks: ["nope"] }, "fallbacks[0]"],
  [
    "a chat model as embedding model",
    { model: "gpt-4o", embeddingModel: "gpt-4o" },
    "embeddingModel",
  ],
];
for (const [name, body, field] of invalid) {
  Deno.test(`preferences: ${name} → 400 naming ${field}`, async () => {
    const t = await tenancyWorld();
    try {
      const response = await t.call("PUT", "/agents/x/preferences", t.memberA, body);
      assert.equal(response.status, 400, response.text);
      assert.equal(response.json.error.field, field);
      assert.equal((await t.db.query("select 1 from agent_llm_preferences")).length, 0);
    } finally {
      await t.close();
    }
  });
}

Deno.test("preferences: members change their own agents; another user's agent needs an admin", async () => {
  const t = await tenancyWorld();
  try {
    assert.equal(
      (await t.call("PUT", "/agents/shared/preferences", t.adminA, { model: "gpt-4o" })).status,
      200,
    );
    const member = await t.call("PUT", "/agents/shared/preferences", t.memberA, {
      model: "claude-haiku-4-5",
    });
    assert.equal(member.status, 403);
    assert.equal((await t.call("DELETE", "/agents/shared/preferences", t.memberA)).status, 403);
    assert.equal(
      (await t.call("PUT", "/agents/mine/preferences", t.memberA, { model: "gpt-4o" })).status,
      200,
    );
    // Another account's member sees nothing of account A.
    assert.equal(
      (await t.call("GET", "/agents/shared/preferences", t.memberB)).json.preference,
      null,
    );
    const other = await t.call(
      "GET",
      `/agents/shared/preferences?accountId=${ACCOUNT_A}`,
      t.memberB,
    );
    assert.equal(other.status, 403);
  } finally {
    await t.close();
  }
});

Deno.test("preferences: an agent set up by server code is admin-only, and no write changes an agent's owner", async () => {
  const t = await tenancyWorld();
  try {
    const owner = async (agent: string) =>
      (await t.db.query<{ owner_user_id: string | null }>(
        "select owner_user_id from agent_llm_preferences where account_id = $1 and agent_id = $2",
        [ACCOUNT_A, agent],
      ))[0]?.owner_user_id;
    const server = await t.call(
      "PUT",
      `/agents/bot/preferences?accountId=${ACCOUNT_A}`,
      SERVICE_KEY,
      { model: "gpt-4o" },
    );
    assert.equal(server.status, 200, server.text);
    assert.equal(await owner("bot"), null);

    // A member may neither take over nor delete it.
    const take = await t.call("PUT", "/agents/bot/preferences", t.memberA, {
      model: "claude-haiku-4-5",
    });
    assert.equal(take.status, 403, take.text);
    assert.equal(take.json.error.code, "FORBIDDEN");
    assert.equal((await t.call("DELETE", "/agents/bot/preferences", t.memberA)).status, 403);
    const stored = await t.call("GET", "/agents/bot/preferences", t.memberA);
    assert.equal(stored.json.preference.model, "gpt-4o");
    assert.equal(await owner("bot"), null);

    // An admin may change it, and it stays ownerless.
    assert.equal(
      (await t.call("PUT", "/agents/bot/preferences", t.adminA, { model: "gpt-4o-mini" })).status,
      200,
    );
    assert.equal(await owner("bot"), null);

    // An admin editing a member's agent leaves the member its owner.
    assert.equal(
      (await t.call("PUT", "/agents/mine/preferences", t.memberA, { model: "gpt-4o" })).status,
      200,
    );
    assert.equal(
      (await t.call("PUT", "/agents/mine/preferences", t.adminA, { model: "gpt-4o-mini" })).status,
      200,
    );
    assert.equal(await owner("mine"), USER_A);
    const again = await t.call("PUT", "/agents/mine/preferences", t.memberA, { model: "gpt-4o" });
    assert.equal(again.status, 200, again.text);

    assert.equal((await t.call("DELETE", "/agents/bot/preferences", t.adminA)).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("preferences: the repository itself refuses a member's write to a row they do not own", async () => {
  // The API checks first; the statement checks again, so a row created by
  // someone else between that check and the write is left alone.
  const t = await tenancyWorld();
  try {
    const repo = new PreferenceRepository(t.db, new MemoryStateStore(), 0);
    const row = {
      agentId: "raced",
      accountId: ACCOUNT_A,
      provider: "openai",
      model: "gpt-4o",
      params: {},
      embeddingModel: null,
      fallbacks: [],
    };
    assert.ok(await repo.putAgent({ ...row, ownerUserId: null }));
    assert.equal(
      await repo.putAgent({ ...row, model: "gpt-4o-mini", ownerUserId: USER_A }, USER_A),
      undefined,
    );
    assert.equal(await repo.deleteAgent(ACCOUNT_A, "raced", USER_A), false);
    assert.equal((await repo.getAgent(ACCOUNT_A, "raced"))?.model, "gpt-4o");
    // A member's own row is theirs to change.
    const mine = await repo.putAgent({ ...row, agentId: "own", ownerUserId: USER_A }, USER_A);
    assert.equal(mine?.ownerUserId, USER_A);
    assert.equal(
      (await repo.putAgent({ ...row, agentId: "own", model: "gpt-4o-mini", ownerUserId: ADMIN_A }))
        ?.ownerUserId,
      USER_A,
    );
  } finally {
    await t.close();
  }
});

Deno.test("byok: an account's key serves only that account, shows to admins only as its last four characters, and never reaches a log", async () => {
  const t = await tenancyWorld();
  try {
    const put = await t.call("PUT", "/providers/openai/key", t.adminA, { apiKey: TENANT_KEY });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.keyHint, "…fXYZ");
    assert.ok(!put.text.includes(TENANT_KEY));

    await t.call("POST", "", t.memberA, { prompt: "as A" });
    await t.call("POST", "", t.memberB, { prompt: "as B" });
    await t.call("POST", "/v1/chat/completions", t.memberA, {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "A again" }],
    });
    assert.deepEqual(t.world.mock.requests.map((r) => r.apiKey), [
      TENANT_KEY,
      "sk-test-router-openai",
      TENANT_KEY,
    ]);

    const openaiIn = (list: { json: { providers: { name: string }[] } }) =>
      // deno-lint-ignore no-explicit-any
      list.json.providers.find((p) => p.name === "openai") as any;
    const asAdmin = await t.call("GET", "/providers", t.adminA);
    assert.deepEqual(openaiIn(asAdmin).accountKey, {
      configured: true,
      keyHint: "…fXYZ",
      keyVersion: "v1",
      updatedAt: openaiIn(asAdmin).accountKey.updatedAt,
    });
    // A member learns that the account has a key, nothing of the key.
    const list = await t.call("GET", "/providers", t.memberA);
    const openai = openaiIn(list);
    assert.deepEqual(openai.accountKey, { configured: true });
    assert.equal(openai.platformKey, true);
    assert.ok(!list.text.includes(TENANT_KEY));
    assert.ok(!list.text.includes("fXYZ"));
    const listB = await t.call("GET", "/providers", t.memberB);
    assert.equal(
      listB.json.providers.find((p: { name: string }) => p.name === "openai").accountKey,
      null,
    );

    const stored = await t.db.query<{ ciphertext: string }>(
      "select ciphertext from llm_provider_keys",
    );
    assert.ok(!stored[0].ciphertext.includes(TENANT_KEY));
    await t.world.settle();
    assert.ok(
      !t.world.logs.some((line) => line.includes(TENANT_KEY)),
      "the key reached a log line",
    );
    const audit = await t.db.query<{ action: string; details: unknown }>(
      "select action, details from llm_audit_log order by id",
    );
    // The key change, then each routed request; none of them carries the key.
    assert.deepEqual(
      audit.map((a) => a.action).filter((action) => action !== "llm.request"),
      ["provider_key.put"],
    );
    assert.ok(audit.some((a) => a.action === "llm.request"));
    assert.ok(!JSON.stringify(audit).includes(TENANT_KEY));

    assert.equal((await t.call("DELETE", "/providers/openai/key", t.adminA)).status, 200);
    await t.call("POST", "", t.memberA, { prompt: "back to the platform key" });
    assert.equal(t.world.mock.requests.at(-1)!.apiKey, "sk-test-router-openai");
  } finally {
    await t.close();
  }
});

Deno.test("byok: members may not manage keys; unknown providers and bad keys are refused; no master key is a 503", async () => {
  const t = await tenancyWorld();
  try {
    assert.equal(
      (await t.call("PUT", "/providers/openai/key", t.memberA, { apiKey: TENANT_KEY })).status,
      403,
    );
    assert.equal(
      (await t.call("PUT", "/providers/nope/key", t.adminA, { apiKey: TENANT_KEY })).status,
      404,
    );
    const bad = await t.call("PUT", "/providers/openai/key", t.adminA, {
      apiKey: "has spaces in it",
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, "apiKey");
  } finally {
    await t.close();
  }
  const noVault = await tenancyWorld({ LLM_KEY_ENCRYPTION_KEYS: undefined });
  try {
    const response = await noVault.call("PUT", "/providers/openai/key", noVault.adminA, {
      apiKey: TENANT_KEY,
    });
    assert.equal(response.status, 503);
    assert.equal(response.json.error.code, "CONFIG_MISSING");
  } finally {
    await noVault.close();
  }
});

Deno.test("byok: a tampered stored key is refused, never sent to a provider", async () => {
  const t = await tenancyWorld({ LLM_CACHE_TTL_MS: "0" });
  try {
    await t.call("PUT", "/providers/openai/key", t.adminA, { apiKey: TENANT_KEY });
    await t.db.query("update llm_provider_keys set ciphertext = reverse(ciphertext)");
    const response = await t.call("POST", "", t.memberA, { prompt: "x" });
    assert.equal(response.status, 500);
    assert.equal(response.json.error.code, "KEY_UNAVAILABLE");
    assert.equal(t.world.mock.requests.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("usage: each request leaves one llm_usage row with account, model, tokens, cost and outcome", async () => {
  const t = await tenancyWorld({
    LLM_MODELS: JSON.stringify([{
      ...await catalogEntry("gpt-4o-mini"),
      id: "gpt-4o-mini::status=400",
    }]),
  });
  try {
    await t.call("POST", "", t.memberA, { prompt: "one" });
    await t.call("POST", "", t.memberA, { prompt: "two", stream: true });
    await t.call("POST", "", t.memberA, {
      prompt: "three",
      modelOverride: "gpt-4o-mini::status=400",
    });
    await t.world.settle();
    const rows = await t.db.query<Record<string, unknown>>(
      "select account_id, user_id, provider, model, input_tokens, output_tokens, cost_usd, status, error_code, streamed from llm_usage order by id",
    );
    assert.equal(rows.length, 3);
    assert.equal(rows[0].account_id, ACCOUNT_A);
    assert.equal(rows[0].user_id, USER_A);
    assert.equal(rows[0].model, "gpt-4o-mini");
    assert.equal(rows[0].status, "ok");
    assert.equal(rows[0].output_tokens, 20);
    assert.ok(Number(rows[0].cost_usd) > 0);
    assert.equal(rows[1].streamed, true);
    assert.equal(rows[1].output_tokens, 20);
    assert.equal(rows[2].status, "ok", "the 400 fell back to the chain");
  } finally {
    await t.close();
  }
});

async function catalogEntry(id: string) {
  const { BUILT_IN_MODELS } = await import("../supabase/functions/_shared/llm/catalog.ts");
  return BUILT_IN_MODELS.find((m) => m.id === id)!;
}

Deno.test("accounts: a user whose token names no account acts for their only membership; admins may name theirs", async () => {
  const t = await tenancyWorld();
  try {
    const member = "c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1";
    await t.db.query(
      "insert into llm_account_members (account_id, user_id, role) values ($1, $2, 'admin')",
      [ACCOUNT_B, member],
    );
    const token = await signToken({ sub: member, app_metadata: {} });
    const put = await t.call("PUT", "/agents/from-membership/preferences", token, {
      model: "gpt-4o",
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.accountId, ACCOUNT_B);
    // Admin by membership: may manage the account's keys when naming it.
    const key = await t.call("PUT", `/providers/openai/key?accountId=${ACCOUNT_B}`, token, {
      apiKey: TENANT_KEY,
    });
    assert.equal(key.status, 200, key.text);
    // Not a member of account A: refused.
    assert.equal((await t.call("GET", `/providers?accountId=${ACCOUNT_A}`, token)).status, 403);
  } finally {
    await t.close();
  }
});
