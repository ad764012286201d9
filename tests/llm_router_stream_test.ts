/** Router streams: committed after the first event; failures before it fall back, after it are thrown. */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { LLMStreamEvent } from "../supabase/functions/_shared/llm/types.ts";
import { ask, never, routerWorld } from "./helpers/router-world.ts";

async function drain(events: AsyncIterable<LLMStreamEvent>): Promise<LLMStreamEvent[]> {
  const out: LLMStreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

Deno.test("stream: start, text deltas, finish; completion carries usage and cost", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { streamText: "one two three" });
  const routed = await world.router.stream(ask(), never());
  assert.equal(routed.route.provider, "openai");
  const events = await drain(routed.events);
  assert.deepEqual(events.map((e) => e.type), [
    "start",
    "text-delta",
    "text-delta",
    "text-delta",
    "finish",
  ]);
  const end = await routed.completion;
  assert.ok(end.ok);
  assert.equal(end.usage.outputTokens, 20);
  assert.ok(end.costUsd > 0);
});

Deno.test("stream: a failure before the first event is retried and can fall back", async () => {
  const world = routerWorld((config) => (config.retry.maxRetries = 0));
  world.fakes.script("gpt-4o-mini", { streamText: "never", failAfter: 0, error: "PROVIDER_ERROR" });
  const routed = await world.router.stream(ask(), never());
  assert.equal(routed.route.model, "claude-haiku-4-5");
  assert.equal(routed.route.fallbackIndex, 1);
  assert.equal((await drain(routed.events)).at(-1)!.type, "finish");
});

Deno.test("stream: a first event that never comes times out (firstEventMs) and falls back", async () => {
  const world = routerWorld((config) => (config.retry.maxRetries = 0));
  world.fakes.script("gpt-4o-mini", { hang: true });
  const routed = await world.router.stream(ask(), never());
  assert.equal(routed.route.model, "claude-haiku-4-5");
  assert.equal(world.fakes.calls[0].aborted(), true);
});

Deno.test("stream: a failure after the first event is thrown to the consumer, never a silent success", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { streamText: "a b c d", failAfter: 3, error: "NETWORK" });
  const routed = await world.router.stream(ask(), never());
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const event of routed.events) seen.push(event.type);
  }, (error: unknown) => error instanceof LLMError && error.code === "NETWORK" && error.retryable);
  assert.deepEqual(seen, ["start", "text-delta", "text-delta"]);
  const end = await routed.completion;
  assert.equal(end.ok, false);
  // Committed: no fallback after the first byte.
  assert.equal(world.fakes.calls.length, 1);
});

Deno.test("stream: silence mid-stream longer than idleMs aborts the upstream as TIMEOUT", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { streamText: "a b c", stallAfter: 2 });
  const routed = await world.router.stream(ask(), never());
  await assert.rejects(
    drain(routed.events),
    (error: unknown) => error instanceof LLMError && error.code === "TIMEOUT",
  );
  assert.equal(world.fakes.calls[0].aborted(), true);
});

Deno.test("stream: a consumer that stops reading aborts the upstream call", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { streamText: "a b c d e f" });
  const routed = await world.router.stream(ask(), never());
  for await (const event of routed.events) if (event.type === "text-delta") break;
  assert.equal(world.fakes.calls[0].aborted(), true);
  const end = await routed.completion;
  assert.equal(!end.ok && end.error.code, "ABORTED");
});

Deno.test("stream: mid-stream failures count against the breaker; finished streams close it", async () => {
  const world = routerWorld((config) => {
    config.breaker = { failureThreshold: 2, openMs: 60_000, halfOpenSuccesses: 1 };
  });
  for (let i = 0; i < 2; i++) {
    world.fakes.script("gpt-4o-mini", { streamText: "a b", failAfter: 2, error: "PROVIDER_ERROR" });
    const routed = await world.router.stream(ask(), never());
    await assert.rejects(drain(routed.events));
  }
  const next = await world.router.stream(ask(), never());
  assert.equal(next.route.model, "claude-haiku-4-5", "the failing model's circuit is open");
  await drain(next.events);
});
