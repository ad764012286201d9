/**
 * Free-only routing and price ceilings through llm-router over HTTP, with a
 * real database and OpenRouter pointed at the mock provider: `auto:free`
 * through the openai SDK, the deployment's ceiling refusing a paid model with
 * 422 and no upstream call, the account's ceiling (PUT /budgets) skipping
 * paid fallbacks with spend staying 0, and the agent's (PUT
 * /agents/:id/preferences) applying even when a request names a model.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { callJson, faultyModel, routerHttpWorld } from "./helpers/router-http-world.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";

const ACCOUNT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const MEMBER = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";
const ADMIN = "a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2";
const OPENROUTER_KEY = "sk-or-test-free-routing";
/** The first free model, failing with 503 every time: the cascade must move on. */
const FAILING_FREE = faultyModel("z-ai/glm-4.5-air:free", "status=503");

async function freeWorld(env: Record<string, string> = {}) {
  const database: TestDb = await freshDb();
  const world = await routerHttpWorld((mock) => ({
    OPENROUTER_API_KEY: OPENROUTER_KEY,
    OPENROUTER_BASE_URL: mock.openaiBaseUrl,
    LLM_MAX_RETRIES: "0",
    LLM_MODELS: JSON.stringify([FAILING_FREE]),
    ...env,
  }), { db: database.db });
  const token = (sub: string, role: string) =>
    signToken({ sub, app_metadata: { account_id: ACCOUNT, role } });
  const member = await token(MEMBER, "member");
  return {
    world,
    db: database.db,
    member,
    admin: await token(ADMIN, "admin"),
    call(method: string, path: string, bearer: string, body?: unknown) {
      return callJson(method, `${world.url}${path}`, bearer, body);
    },
    ask(body: Record<string, unknown> = {}) {
      return this.call("POST", "", member, { prompt: "hello there", maxTokens: 50, ...body });
    },
    /** The models the mock was asked for, in order. */
    upstream() {
      return world.mock.requests.map((r) => `${r.path} ${r.model}`);
    },
    async usage() {
      await world.settle();
      return await database.db.query<
        { model: string | null; use_case: string | null; error_code: string | null; cost: number }
      >(
        `select model, use_case, error_code, cost_usd::float8 as cost from llm_usage
          where account_id = $1 order by id`,
        [ACCOUNT],
      );
    },
    async close() {
      await world.settle();
      await world.close();
      await database.close();
    },
  };
}

Deno.test("free-only deployment: auto:free through the openai SDK is served by the first free model at no cost", async () => {
  const t = await freeWorld({ LLM_MAX_PRICE_PER_MTOK: "0" });
  try {
    const client = new OpenAI({ apiKey: t.member, baseURL: `${t.world.url}/v1`, maxRetries: 0 });
    const listed = (await client.models.list()).data.map((m) => m.id);
    assert.ok(listed.includes("auto:free"));
    const { data: answer, response } = await client.chat.completions.create({
      model: "auto:free",
      messages: [{ role: "user", content: "hello there" }],
    }).withResponse();
    assert.ok(answer.choices[0].message.content);
    assert.equal(response.headers.get("x-llm-provider"), "openrouter");
    assert.equal(response.headers.get("x-llm-model"), "z-ai/glm-4.5-air:free");
    assert.deepEqual(t.upstream(), ["/v1/chat/completions z-ai/glm-4.5-air:free"]);
    assert.equal(t.world.mock.requests[0].apiKey, OPENROUTER_KEY);
    assert.deepEqual(await t.usage(), [
      { model: "z-ai/glm-4.5-air:free", use_case: "free", error_code: null, cost: 0 },
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("free-only deployment: a paid model is refused with 422 PRICE_CEILING_EXCEEDED, no upstream call, a usage row at $0", async () => {
  const t = await freeWorld({ LLM_MAX_PRICE_PER_MTOK: "0" });
  try {
    const client = new OpenAI({ apiKey: t.member, baseURL: `${t.world.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hello there" }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 422);
        assert.equal(error.code, "PRICE_CEILING_EXCEEDED");
        assert.match(error.message, /priced above the ceiling of \$0 per million tokens/);
        return true;
      },
    );
    // Streamed, the refusal comes before any event: a plain 422, not a 200 stream.
    const streamed = await t.ask({ modelOverride: "claude-haiku-4-5", stream: true });
    assert.equal(streamed.status, 422);
    assert.equal(streamed.json.error.code, "PRICE_CEILING_EXCEEDED");
    assert.equal(streamed.json.error.maxPricePerMTok, 0);
    assert.deepEqual(t.upstream(), [], "no upstream call");
    const rows = await t.usage();
    assert.deepEqual(rows.map((r) => [r.error_code, r.cost]), [
      ["PRICE_CEILING_EXCEEDED", 0],
      ["PRICE_CEILING_EXCEEDED", 0],
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("account ceiling (PUT /budgets): paid fallbacks are skipped, a free one serves, and spend stays 0", async () => {
  const t = await freeWorld();
  try {
    const byMember = await t.call("PUT", "/budgets", t.member, { maxPricePerMTok: 0 });
    assert.equal(byMember.status, 403);
    const put = await t.call("PUT", "/budgets", t.admin, { dailyLimitUsd: 1, maxPricePerMTok: 0 });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.budget.maxPricePerMTok, 0);
    const agent = await t.call("PUT", "/agents/cascade/preferences", t.admin, {
      model: FAILING_FREE.id,
      fallbacks: ["gpt-4o-mini", "claude-haiku-4-5", "qwen/qwen3-coder:free"],
    });
    assert.equal(agent.status, 200, agent.text);

    const answer = await t.ask({ agentId: "cascade" });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers.get("x-llm-model"), "qwen/qwen3-coder:free");
    assert.deepEqual(t.upstream(), [
      "/v1/chat/completions z-ai/glm-4.5-air:free",
      "/v1/chat/completions qwen/qwen3-coder:free",
    ], "gpt-4o-mini and claude-haiku-4-5 were never called");
    assert.deepEqual((await t.usage()).map((r) => [r.model, r.cost]), [
      ["qwen/qwen3-coder:free", 0],
    ]);
    const budgets = await t.call("GET", "/budgets", t.member);
    assert.equal(budgets.json.budgets[0].maxPricePerMTok, 0);
    assert.equal(budgets.json.windows[0].spentUsd, 0);
    assert.equal(budgets.json.platformMaxPricePerMTok, null);

    // A write that does not mention the ceiling keeps it; null removes it.
    await t.call("PUT", "/budgets", t.admin, { dailyLimitUsd: 2 });
    const kept = await t.call("GET", "/budgets", t.member);
    assert.equal(kept.json.budgets[0].maxPricePerMTok, 0);
    await t.call("PUT", "/budgets", t.admin, { dailyLimitUsd: 2, maxPricePerMTok: null });
    const paid = await t.ask({ agentId: "cascade" });
    assert.equal(
      paid.headers.get("x-llm-model"),
      "gpt-4o-mini",
      "without the ceiling, the paid fallback serves",
    );
  } finally {
    await t.close();
  }
});

Deno.test("account ceiling (PUT /budgets): an agent's ceiling is not set there, and an empty write is refused", async () => {
  const t = await freeWorld();
  try {
    const agent = await t.call("PUT", "/budgets", t.admin, { agentId: "bot", maxPricePerMTok: 0 });
    assert.equal(agent.status, 400);
    assert.equal(agent.json.error.field, "maxPricePerMTok");
    assert.match(agent.json.error.message, /PUT \/agents\/:agentId\/preferences/);
    const empty = await t.call("PUT", "/budgets", t.admin, { maxPricePerMTok: null });
    assert.equal(empty.status, 400);
    const negative = await t.call("PUT", "/budgets", t.admin, { maxPricePerMTok: -1 });
    assert.equal(negative.status, 400);
  } finally {
    await t.close();
  }
});

Deno.test("agent ceiling (PUT /agents/:id/preferences): checked against the models it names, applied even when a request names a model", async () => {
  const t = await freeWorld();
  try {
    const path = "/agents/free-bot/preferences";
    const dearModel = await t.call("PUT", path, t.member, {
      model: "gpt-4o-mini",
      maxPricePerMTok: 0.5,
    });
    assert.equal(dearModel.status, 400);
    assert.equal(dearModel.json.error.field, "model");
    assert.match(dearModel.json.error.message, /gpt-4o-mini costs up to \$0\.6 per million tokens/);
    const dearFallback = await t.call("PUT", path, t.member, {
      model: "qwen/qwen3-coder:free",
      fallbacks: ["gpt-4o"],
      maxPricePerMTok: 0,
    });
    assert.equal(dearFallback.status, 400);
    assert.equal(dearFallback.json.error.field, "fallbacks[0]");
    const put = await t.call("PUT", path, t.member, {
      model: "qwen/qwen3-coder:free",
      maxPricePerMTok: 0,
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.preference.maxPricePerMTok, 0);
    const listed = await t.call("GET", "/agents", t.member);
    assert.equal(listed.json.agents[0].maxPricePerMTok, 0);

    const free = await t.ask({ agentId: "free-bot" });
    assert.equal(free.status, 200, free.text);
    assert.equal(free.headers.get("x-llm-model"), "qwen/qwen3-coder:free");
    const calls = t.world.mock.requests.length;
    const named = await t.ask({ agentId: "free-bot", modelOverride: "gpt-4o-mini" });
    assert.equal(named.status, 422);
    assert.equal(named.json.error.code, "PRICE_CEILING_EXCEEDED");
    assert.equal(t.world.mock.requests.length, calls, "no upstream call");
    const otherAgent = await t.ask({ modelOverride: "gpt-4o-mini" });
    assert.equal(otherAgent.status, 200, "the ceiling is the agent's, not the account's");

    // A write that does not mention the ceiling keeps it.
    await t.call("PUT", path, t.member, { model: "moonshotai/kimi-k2:free" });
    const read = await t.call("GET", path, t.member);
    assert.equal(read.json.preference.maxPricePerMTok, 0);
    assert.deepEqual((await t.usage()).map((r) => [r.error_code, r.cost > 0]), [
      [null, false],
      ["PRICE_CEILING_EXCEEDED", false],
      [null, true],
    ]);
  } finally {
    await t.close();
  }
});
