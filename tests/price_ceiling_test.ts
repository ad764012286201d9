/**
 * Price ceilings and the free cascade, below HTTP: what "priced above" means,
 * the catalog's free models and `free` chain, the planner leaving out every
 * target over the ceiling (fallbacks and embeddings included) with a typed
 * reason, the 422 when nothing is left, the deployment setting, and the
 * guards combining the deployment's, the account's and the agent's ceilings.
 */
import assert from "node:assert/strict";
import {
  BUILT_IN_MODELS,
  type CatalogModel,
  DEFAULT_USE_CASE_CHAINS,
  USE_CASES,
} from "../supabase/functions/_shared/llm/catalog.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import { pricePerMTok, tightestCeiling } from "../supabase/functions/_shared/llm/price-ceiling.ts";
import { describeSkip } from "../supabase/functions/_shared/llm/skip-reason.ts";
import { CHAT_USE_CASES } from "../supabase/functions/_shared/dialects/native-schema.ts";
import { guardSettingsFromEnv } from "../supabase/functions/_shared/guards/settings-from-env.ts";
import { GatewayGuards } from "../supabase/functions/_shared/guards/gateway-guards.ts";
import type { BudgetSettings } from "../supabase/functions/_shared/guards/account-settings.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { ask, never, PLATFORM_KEYS, routerWorld } from "./helpers/router-world.ts";
import { testLogger } from "./helpers/logs.ts";

const FREE_CHAIN = [
  "z-ai/glm-4.5-air:free",
  "deepseek/deepseek-chat-v3.1:free",
  "minimax/minimax-m2:free",
  "moonshotai/kimi-k2:free",
  "qwen/qwen3-coder:free",
];
const WITH_OPENROUTER = { keys: { ...PLATFORM_KEYS, openrouter: "sk-or-test-key" } };
const model = (id: string) => BUILT_IN_MODELS.find((m) => m.id === id)!;

Deno.test("price ceiling: a model is priced at its dearest token (input, output or cache write)", () => {
  assert.equal(pricePerMTok(model("claude-haiku-4-5")), 5, "output is dearest");
  assert.equal(pricePerMTok(model("text-embedding-3-small")), 0.02, "embeddings: input only");
  const dearWrites: CatalogModel = {
    ...model("gpt-4o-mini"),
    prices: { input: 1, output: 2, cachedInput: 0.1, cacheWrite: 3 },
  };
  assert.equal(pricePerMTok(dearWrites), 3);
  assert.equal(pricePerMTok(model("qwen/qwen3-coder:free")), 0);
});

Deno.test("price ceiling: the tightest set ceiling wins; 0 is a ceiling, not unset", () => {
  assert.equal(tightestCeiling(undefined, 2, null, 0.5), 0.5);
  assert.equal(tightestCeiling(5, 0), 0);
  assert.equal(tightestCeiling(undefined, null), undefined);
});

Deno.test("catalog: the free use case chains OpenRouter's free models in order, every one priced 0", () => {
  assert.deepEqual(DEFAULT_USE_CASE_CHAINS.free, FREE_CHAIN);
  for (const id of FREE_CHAIN) {
    const free = model(id);
    assert.equal(free.provider, "openrouter", id);
    assert.equal(pricePerMTok(free), 0, id);
    assert.ok(free.capabilities.chat && free.capabilities.tools, id);
  }
  assert.ok((USE_CASES as readonly string[]).includes("free"));
  // The dialects' use-case lists (`auto:free`, `useCase: "free"`) come from the same list.
  assert.ok(CHAT_USE_CASES.includes("free"));
});

Deno.test("planner: a fallback priced above the ceiling is never tried; the next one under it serves", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["gpt-4o-mini", "claude-sonnet-4-6", "gemini-2.5-flash"];
    config.retry.maxRetries = 0;
  });
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" });
  const answer = await world.router.chat(ask("hello", { maxPricePerMTok: 3 }), never());
  assert.equal(answer.model, "gemini-2.5-flash");
  assert.deepEqual(world.fakes.calls.map((c) => c.model), ["gpt-4o-mini", "gemini-2.5-flash"]);
  const plan = await world.router.plan(ask("hello", { maxPricePerMTok: 3 }));
  assert.deepEqual(plan.skipped, [{
    model: "claude-sonnet-4-6",
    reason: { kind: "over-price-ceiling", pricePerMTok: 15, ceiling: 3 },
  }]);
});

Deno.test("planner: with a ceiling of 0 only free models run, paid ones skipped wherever they stand", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.free = ["gpt-4o-mini", ...FREE_CHAIN.slice(0, 2), "claude-haiku-4-5"];
    config.retry.maxRetries = 0;
  }, WITH_OPENROUTER);
  world.fakes.script("z-ai/glm-4.5-air:free", { error: "RATE_LIMIT" });
  const answer = await world.router.chat(
    ask("hello", { useCase: "free", maxPricePerMTok: 0 }),
    never(),
  );
  assert.equal(answer.model, "deepseek/deepseek-chat-v3.1:free");
  assert.equal(answer.costUsd, 0);
  assert.deepEqual(world.fakes.calls.map((c) => `${c.provider}/${c.model}`), [
    "openrouter/z-ai/glm-4.5-air:free",
    "openrouter/deepseek/deepseek-chat-v3.1:free",
  ]);
});

Deno.test("final error: every candidate over the ceiling is 422 PRICE_CEILING_EXCEEDED, and nothing is called", async () => {
  const world = routerWorld();
  await assert.rejects(
    world.router.chat(ask("hello", { modelOverride: "gpt-4o", maxPricePerMTok: 0.1 }), never()),
    (error: unknown) => {
      assert.ok(error instanceof LLMError);
      assert.equal(error.code, "PRICE_CEILING_EXCEEDED");
      assert.equal(error.status, 422);
      assert.equal(error.retryable, false);
      assert.equal(error.details.maxPricePerMTok, 0.1);
      assert.equal(error.details.attempts, 0);
      assert.match(error.message, /gpt-4o: \$10\/MTok is above the price ceiling of \$0\.1\/MTok/);
      // The keyless candidate is named too, but the ceiling is what stopped the request.
      assert.match(error.message, /deepseek-chat: no API key for deepseek/);
      return true;
    },
  );
  assert.equal(world.fakes.calls.length, 0);
});

Deno.test("final error: without a ceiling in the way, nothing servable stays a 503 NO_PROVIDER", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["deepseek-chat"];
  });
  await assert.rejects(
    world.router.chat(ask("hello", { maxPricePerMTok: 100 }), never()),
    (error: unknown) => error instanceof LLMError && error.code === "NO_PROVIDER",
  );
});

Deno.test("skip reasons: a price over the ceiling has its words", () => {
  assert.equal(
    describeSkip({ kind: "over-price-ceiling", pricePerMTok: 15, ceiling: 1.5 }),
    "$15/MTok is above the price ceiling of $1.5/MTok",
  );
});

Deno.test("embeddings: a model priced above the ceiling is skipped; with none left, 422 and no call", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.embedding = ["text-embedding-3-large", "text-embedding-3-small"];
  });
  const answer = await world.router.embed(
    { input: ["hello"], dimensions: 256, maxPricePerMTok: 0.05 },
    never(),
  );
  assert.equal(answer.model, "text-embedding-3-small");
  assert.deepEqual(world.fakes.calls.map((c) => c.model), ["text-embedding-3-small"]);
  await assert.rejects(
    world.router.embed({ input: ["hello"], maxPricePerMTok: 0 }, never()),
    (error: unknown) => error instanceof LLMError && error.code === "PRICE_CEILING_EXCEEDED",
  );
  assert.equal(world.fakes.calls.length, 1);
});

Deno.test("env: LLM_MAX_PRICE_PER_MTOK is the deployment's ceiling; unset is none, a malformed one is 0", () => {
  const read = (value: string | undefined) => {
    const warnings: string[] = [];
    const { policy } = guardSettingsFromEnv(mapEnv({ LLM_MAX_PRICE_PER_MTOK: value }), warnings);
    return { ceiling: policy.maxPricePerMTok, warnings };
  };
  assert.deepEqual(read(undefined), { ceiling: undefined, warnings: [] });
  assert.deepEqual(read("0"), { ceiling: 0, warnings: [] });
  assert.deepEqual(read("2.5"), { ceiling: 2.5, warnings: [] });
  const typo = read("2.5$");
  assert.equal(typo.ceiling, 0, "a typo must not lift the cap");
  assert.match(typo.warnings[0], /LLM_MAX_PRICE_PER_MTOK/);
  assert.equal(read("-1").ceiling, 0);
});

const ACCOUNT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

function accountBudget(maxPricePerMTok: number | null): BudgetSettings {
  return {
    agentId: null,
    dailyLimitUsd: null,
    monthlyLimitUsd: null,
    maxPricePerMTok,
    alertThreshold: 0.8,
    timeZone: "UTC",
  };
}

function guards(options: {
  deployment?: number;
  account?: number | null;
  agent?: () => Promise<number | undefined>;
  failClosed?: boolean;
}) {
  return new GatewayGuards({
    store: new MemoryStateStore(() => 0),
    settings: {
      forAccount: () => Promise.resolve({ budgets: [accountBudget(options.account ?? null)] }),
      recordedSpend: () => Promise.resolve(0),
    },
    agentCeilings: options.agent && { agentPriceCeiling: options.agent },
    policy: {
      modelCeilings: {},
      maxPricePerMTok: options.deployment,
      failClosed: options.failClosed ?? false,
    },
    now: () => 0,
    log: testLogger("price-ceiling-test"),
    waitUntil: () => {},
    onBudgetAlert: () => {},
  });
}

Deno.test("guards: the request's ceiling is the tightest of the deployment's, the account's and the agent's", async () => {
  const caller = { accountId: ACCOUNT, agentId: "bot" };
  const agentAt = (ceiling: number | undefined) => () => Promise.resolve(ceiling);
  const ceilingOf = async (g: GatewayGuards, who: typeof caller | { accountId: string } = caller) =>
    (await g.admit(who)).maxPricePerMTok;
  assert.equal(await ceilingOf(guards({})), undefined);
  assert.equal(await ceilingOf(guards({ deployment: 5, account: 1, agent: agentAt(2) })), 1);
  assert.equal(await ceilingOf(guards({ deployment: 5, account: 1, agent: agentAt(0) })), 0);
  assert.equal(await ceilingOf(guards({ deployment: 0.5, account: 1, agent: agentAt(2) })), 0.5);
  // A request that names no agent gets no agent's ceiling.
  assert.equal(
    await ceilingOf(guards({ account: 1, agent: agentAt(0) }), { accountId: ACCOUNT }),
    1,
  );
});

Deno.test("guards: an agent ceiling that cannot be read fails open by default, closed with 503 when asked", async () => {
  const broken = () => Promise.reject(new Error("store down"));
  const open = await guards({ account: 2, agent: broken }).admit({
    accountId: ACCOUNT,
    agentId: "bot",
  });
  assert.equal(open.maxPricePerMTok, 2, "the account's ceiling still applies");
  await assert.rejects(
    guards({ agent: broken, failClosed: true }).admit({ accountId: ACCOUNT, agentId: "bot" }),
    (error: unknown) => error instanceof LLMError && error.code === "GUARD_UNAVAILABLE",
  );
});
