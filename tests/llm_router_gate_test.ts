/**
 * The router's target gate (where budgets and model ceilings plug in): each
 * target is admitted once before its first attempt, the winner is settled
 * with its real cost, every other admission is released, and a refusal
 * either moves on to the next target or ends the request before any call.
 */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { TargetGate } from "../supabase/functions/_shared/llm/route-types.ts";
import { ask, never, routerWorld } from "./helpers/router-world.ts";

function recordingGate(refuse: (model: string) => LLMError | undefined = () => undefined) {
  const events: string[] = [];
  const gate: TargetGate = {
    admit(target) {
      const model = target.model.id;
      const refusal = refuse(model);
      if (refusal) {
        events.push(`refuse ${model}`);
        return Promise.reject(refusal);
      }
      events.push(`admit ${model}`);
      return Promise.resolve({
        settle: (costUsd) => events.push(`settle ${model} ${costUsd > 0 ? "cost" : "free"}`),
        release: () => events.push(`release ${model}`),
      });
    },
  };
  return { gate, events };
}

/** The first target given back, the second admitted and settled. */
const FELL_BACK = [
  "admit gpt-4o-mini",
  "release gpt-4o-mini",
  "admit claude-haiku-4-5",
  "settle claude-haiku-4-5 cost",
];

const chain = (config: { useCaseChains: Record<string, string[]> }) => {
  config.useCaseChains.general = ["gpt-4o-mini", "claude-haiku-4-5"];
};

Deno.test("gate: the serving target is admitted once and settled with its cost", async () => {
  const world = routerWorld(chain);
  const { gate, events } = recordingGate();
  world.fakes.script("gpt-4o-mini", { error: "RATE_LIMIT" });
  const answer = await world.router.chat({ ...ask(), gate }, never());
  assert.equal(answer.model, "gpt-4o-mini");
  assert.ok(answer.costUsd > 0);
  assert.deepEqual(events, ["admit gpt-4o-mini", "settle gpt-4o-mini cost"], "a retry reuses it");
});

Deno.test("gate: the planned target carries its input tokens and output reserve", async () => {
  const world = routerWorld(chain);
  let seen: { inputTokens: number; maxTokens?: number } | undefined;
  await world.router.chat({
    ...ask("one two three"),
    chat: { messages: [{ role: "user", content: "one two three" }], maxTokens: 77 },
    gate: {
      admit: (target) => {
        seen = { inputTokens: target.inputTokens, maxTokens: target.request.maxTokens };
        return Promise.resolve({ settle: () => {}, release: () => {} });
      },
    },
  }, never());
  assert.ok(seen!.inputTokens >= 3);
  assert.equal(seen!.maxTokens, 77);
});

Deno.test("gate: a target that fails is released before the fallback is admitted", async () => {
  const world = routerWorld((config) => {
    chain(config);
    config.retry.maxRetries = 0;
  });
  const { gate, events } = recordingGate();
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" });
  const answer = await world.router.chat({ ...ask(), gate }, never());
  assert.equal(answer.model, "claude-haiku-4-5");
  assert.deepEqual(events, FELL_BACK);
});

Deno.test("gate: a refusal that allows fallback skips the target without calling it", async () => {
  const world = routerWorld(chain);
  const { gate, events } = recordingGate((model) =>
    model === "gpt-4o-mini"
      ? new LLMError("RATE_LIMIT_EXCEEDED", "at ceiling", { fallback: true, retryAfterMs: 5_000 })
      : undefined
  );
  const answer = await world.router.chat({ ...ask(), gate }, never());
  assert.equal(answer.model, "claude-haiku-4-5");
  assert.ok(!world.fakes.calls.some((c) => c.model === "gpt-4o-mini"));
  assert.deepEqual(events, [
    "refuse gpt-4o-mini",
    "admit claude-haiku-4-5",
    "settle claude-haiku-4-5 cost",
  ]);
});

Deno.test("gate: every candidate at its ceiling is 429 RATE_LIMIT_EXCEEDED with the shortest wait", async () => {
  const world = routerWorld(chain);
  const waits: Record<string, number> = { "gpt-4o-mini": 9_000, "claude-haiku-4-5": 4_000 };
  const { gate } = recordingGate((model) =>
    new LLMError("RATE_LIMIT_EXCEEDED", "at ceiling", {
      retryable: true,
      fallback: true,
      retryAfterMs: waits[model],
    })
  );
  await assert.rejects(world.router.chat({ ...ask(), gate }, never()), (error: unknown) => {
    assert.ok(error instanceof LLMError);
    assert.equal(error.code, "RATE_LIMIT_EXCEEDED");
    assert.equal(error.status, 429);
    assert.equal(error.retryAfterMs, 4_000);
    return true;
  });
  assert.equal(world.fakes.calls.length, 0);
});

Deno.test("gate: a refusal without fallback (a spent budget) ends the request before any call", async () => {
  const world = routerWorld(chain);
  const { gate } = recordingGate(() => new LLMError("PAYMENT_REQUIRED", "budget spent"));
  await assert.rejects(
    world.router.chat({ ...ask(), gate }, never()),
    (error: unknown) => error instanceof LLMError && error.code === "PAYMENT_REQUIRED",
  );
  assert.equal(world.fakes.calls.length, 0);
});

Deno.test("gate: a target skipped for its open circuit gives its admission back", async () => {
  const world = routerWorld((config) => {
    chain(config);
    config.retry.maxRetries = 0;
    config.breaker = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
  });
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" });
  await world.router.chat(ask(), never());
  const { gate, events } = recordingGate();
  const answer = await world.router.chat({ ...ask(), gate }, never());
  assert.equal(answer.model, "claude-haiku-4-5");
  assert.deepEqual(events, FELL_BACK);
});

Deno.test("gate: a stream is settled when it finishes, released when the reader stops early", async () => {
  const world = routerWorld(chain);
  const finished = recordingGate();
  world.fakes.script("gpt-4o-mini", { streamText: "one two three" });
  const routed = await world.router.stream({ ...ask(), gate: finished.gate }, never());
  for await (const _ of routed.events) { /* read to the end */ }
  await routed.completion;
  assert.deepEqual(finished.events, ["admit gpt-4o-mini", "settle gpt-4o-mini cost"]);

  const stopped = recordingGate();
  world.fakes.script("gpt-4o-mini", { streamText: "one two three four five" });
  const early = await world.router.stream({ ...ask(), gate: stopped.gate }, never());
  for await (const event of early.events) if (event.type === "text-delta") break;
  await early.completion;
  assert.deepEqual(stopped.events, ["admit gpt-4o-mini", "release gpt-4o-mini"]);
});

Deno.test("gate: embeddings are admitted and settled like chat", async () => {
  const world = routerWorld();
  const { gate, events } = recordingGate();
  const answer = await world.router.embed({ input: ["a", "b"], gate }, never());
  assert.equal(events.length, 2);
  assert.equal(events[0], `admit ${answer.model}`);
  assert.equal(events[1], `settle ${answer.model} ${answer.costUsd > 0 ? "cost" : "free"}`);
});
