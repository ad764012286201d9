/**
 * Skip reasons are data: the planner and the runner record a typed reason
 * for every candidate they leave out, the final error decides on the kinds
 * (never on sentences), and `describeSkip` alone words them.
 */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import { finalError } from "../supabase/functions/_shared/llm/final-error.ts";
import { describeSkip, type SkipReason } from "../supabase/functions/_shared/llm/skip-reason.ts";
import { ask, never, routerWorld } from "./helpers/router-world.ts";

const tooLarge = new LLMError("TOKEN_LIMIT_EXCEEDED", "needs 5000 tokens, room for 600", {
  fallback: true,
});

Deno.test("skip reasons: each kind has its words", () => {
  const cases: [SkipReason, string][] = [
    [{ kind: "not-in-catalog" }, "not in the catalog"],
    [{ kind: "unknown-provider", provider: "nowhere" }, "provider nowhere is not configured"],
    [{ kind: "no-key", provider: "deepseek" }, "no API key for deepseek"],
    [{ kind: "missing-capability", capability: "vision" }, "no vision support"],
    [{ kind: "missing-capability", capability: "embeddings" }, "not an embedding model"],
    [{ kind: "no-embeddings-endpoint", provider: "anthropic" }, "anthropic serves no embeddings"],
    [
      { kind: "vector-size", dimensions: 3072, expected: 1536 },
      "different vector size than the first choice",
    ],
    [{ kind: "window-too-small", error: tooLarge }, "context window too small"],
    [
      { kind: "window-not-larger", overflowedWindow: 128_000 },
      "window no larger than one that overflowed",
    ],
    [{ kind: "circuit-open" }, "circuit open"],
    [{ kind: "refused", error: new LLMError("PAYMENT_REQUIRED", "budget spent") }, "budget spent"],
    [{ kind: "deadline", leftMs: -20 }, "too little of the request deadline left (0 ms)"],
  ];
  for (const [reason, words] of cases) assert.equal(describeSkip(reason), words);
});

Deno.test("skip reasons: the plan records typed reasons for unknown, keyless and unconfigured candidates", async () => {
  const world = routerWorld((config) => {
    config.extraModels = [{
      id: "orphan-model",
      provider: "nowhere",
      contextWindow: 128_000,
      maxOutputTokens: 4_096,
      prices: { input: 1, output: 2, cachedInput: 1, cacheWrite: 1 },
      capabilities: { chat: true, tools: true, vision: false, json: true, embeddings: false },
      tokenizer: "o200k",
    }];
    config.useCaseChains.general = [
      "no-such-model",
      "orphan-model",
      "deepseek-chat",
      "gpt-4o-mini",
    ];
  });
  const plan = await world.router.plan(ask());
  assert.deepEqual(plan.skipped, [
    { model: "no-such-model", reason: { kind: "not-in-catalog" } },
    { model: "orphan-model", reason: { kind: "unknown-provider", provider: "nowhere" } },
    { model: "deepseek-chat", reason: { kind: "no-key", provider: "deepseek" } },
  ]);
  assert.deepEqual(plan.targets.map((t) => t.model.id), ["gpt-4o-mini"]);
});

Deno.test("skip reasons: a window too small carries the overflow's numbers as its error", async () => {
  const world = routerWorld((config) => {
    config.extraModels = [{
      id: "tiny-model",
      provider: "openai",
      contextWindow: 1_000,
      maxOutputTokens: 100,
      prices: { input: 1, output: 2, cachedInput: 1, cacheWrite: 1 },
      capabilities: { chat: true, tools: true, vision: false, json: true, embeddings: false },
      tokenizer: "o200k",
    }];
    config.useCaseChains.general = ["tiny-model", "gpt-4o-mini"];
  });
  const plan = await world.router.plan(ask("word ".repeat(5_000)));
  const reason = plan.skipped[0].reason;
  assert.equal(reason.kind, "window-too-small");
  assert.ok(reason.kind === "window-too-small" && reason.error.code === "TOKEN_LIMIT_EXCEEDED");
  assert.equal(reason.error.details.contextWindow, 1_000);
});

Deno.test("skip reasons: the final error reads kinds — too large everywhere with keys is 400, else 503 naming why", () => {
  const allTooLarge = finalError({
    failures: [],
    attempts: 0,
    cutByDeadline: false,
    skipped: [
      { model: "tiny-model", reason: { kind: "window-too-small", error: tooLarge } },
      { model: "deepseek-chat", reason: { kind: "no-key", provider: "deepseek" } },
    ],
  });
  assert.equal(allTooLarge, tooLarge);

  const mixed = finalError({
    failures: [],
    attempts: 0,
    cutByDeadline: false,
    skipped: [
      { model: "tiny-model", reason: { kind: "window-too-small", error: tooLarge } },
      { model: "pixtral", reason: { kind: "missing-capability", capability: "tools" } },
    ],
  });
  assert.equal(mixed.code, "NO_PROVIDER");
  assert.equal(mixed.status, 503);
  assert.equal(
    mixed.details.skipped,
    "tiny-model: context window too small; pixtral: no tools support",
  );
});

Deno.test("skip reasons: open circuits everywhere are a 503 CIRCUIT_BREAKER_OPEN listing each", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["gpt-4o-mini", "claude-haiku-4-5"];
    config.retry.maxRetries = 0;
    config.breaker = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
  });
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" });
  world.fakes.script("claude-haiku-4-5", { error: "PROVIDER_ERROR" });
  await assert.rejects(world.router.chat(ask(), never()));
  await assert.rejects(world.router.chat(ask(), never()), (error: unknown) => {
    assert.ok(error instanceof LLMError);
    assert.equal(error.code, "CIRCUIT_BREAKER_OPEN");
    assert.match(error.message, /gpt-4o-mini: circuit open; claude-haiku-4-5: circuit open/);
    return true;
  });
});
