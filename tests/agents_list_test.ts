/**
 * `GET /llm-router/agents`: every agent of the caller's account with stored
 * preferences, for the console's agent list, each marked `writable` by the
 * rule writes are held to: a member writes only the agents they own; an
 * ownerless agent (set up by server code) and another user's are admin-only.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const USER_A = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";
const OTHER_A = "a3a3a3a3-a3a3-4a3a-8a3a-a3a3a3a3a3a3";
const ADMIN_A = "a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2";
const USER_B = "b1b1b1b1-b1b1-4b1b-8b1b-b1b1b1b1b1b1";

Deno.test("agents: the account's agents with their settings, writable only where a write would be allowed", async () => {
  const database = await freshDb();
  const world = await routerHttpWorld({}, { db: database.db });
  const token = (sub: string, account: string, role: string) =>
    signToken({ sub, app_metadata: { account_id: account, role } });
  const memberA = await token(USER_A, ACCOUNT_A, "member");
  const otherA = await token(OTHER_A, ACCOUNT_A, "member");
  const adminA = await token(ADMIN_A, ACCOUNT_A, "admin");
  const memberB = await token(USER_B, ACCOUNT_B, "member");
  const call = (method: string, path: string, bearer: string, body?: unknown) =>
    callJson(method, `${world.url}${path}`, bearer, body);
  try {
    assert.deepEqual((await call("GET", "/agents", memberA)).json, {
      accountId: ACCOUNT_A,
      agents: [],
      truncated: false,
    });
    const puts: [string, string, string, Record<string, unknown>][] = [
      ["writer", memberA, "", {
        model: "claude-haiku-4-5",
        params: { temperature: 0.3, maxTokens: 300, topP: 0.9 },
        fallbacks: ["gpt-4o"],
        embeddingModel: "text-embedding-3-small",
      }],
      ["reviewer", otherA, "", { model: "gpt-4o" }],
      ["planner", SERVICE_KEY, `?accountId=${ACCOUNT_A}`, { model: "gpt-4o-mini" }],
      ["elsewhere", memberB, "", { model: "gpt-4o" }],
    ];
    for (const [agent, bearer, query, body] of puts) {
      const put = await call("PUT", `/agents/${agent}/preferences${query}`, bearer, body);
      assert.equal(put.status, 200, put.text);
    }

    const asMember = await call("GET", "/agents", memberA);
    assert.equal(asMember.status, 200, asMember.text);
    assert.deepEqual(asMember.json.agents.map((a: { agentId: string }) => a.agentId), [
      "planner",
      "reviewer",
      "writer",
    ]);
    const writer = asMember.json.agents.find((a: { agentId: string }) => a.agentId === "writer");
    assert.equal(typeof writer.updatedAt, "string");
    assert.deepEqual({ ...writer, updatedAt: "…" }, {
      agentId: "writer",
      model: "claude-haiku-4-5",
      provider: "anthropic",
      params: { temperature: 0.3, maxTokens: 300, topP: 0.9 },
      fallbacks: ["gpt-4o"],
      embeddingModel: "text-embedding-3-small",
      maxPricePerMTok: null,
      ownerUserId: USER_A,
      updatedAt: "…",
      writable: true,
    });
    const writable = (json: { agents: { agentId: string; writable: boolean }[] }) =>
      Object.fromEntries(json.agents.map((a) => [a.agentId, a.writable]));
    assert.deepEqual(writable(asMember.json), { planner: false, reviewer: false, writer: true });
    assert.equal(
      asMember.json.agents.find((a: { agentId: string }) => a.agentId === "planner").ownerUserId,
      null,
    );
    // `writable` is what a write finds: the member's write to another's agent is refused.
    assert.equal(
      (await call("PUT", "/agents/reviewer/preferences", memberA, { model: "gpt-4o" })).status,
      403,
    );
    assert.equal(
      (await call("PUT", "/agents/planner/preferences", memberA, { model: "gpt-4o" })).status,
      403,
    );

    assert.deepEqual(writable((await call("GET", "/agents", otherA)).json), {
      planner: false,
      reviewer: true,
      writer: false,
    });
    assert.deepEqual(writable((await call("GET", "/agents", adminA)).json), {
      planner: true,
      reviewer: true,
      writer: true,
    });
    const byService = await call("GET", `/agents?accountId=${ACCOUNT_A}`, SERVICE_KEY);
    assert.deepEqual(writable(byService.json), { planner: true, reviewer: true, writer: true });
    // Another account's agents never show; acting for it needs to be its admin.
    assert.deepEqual(writable((await call("GET", "/agents", memberB)).json), { elsewhere: true });
    assert.equal((await call("GET", `/agents?accountId=${ACCOUNT_B}`, memberA)).status, 403);
  } finally {
    await world.settle();
    await world.close();
    await database.close();
  }
});
