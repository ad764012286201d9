/**
 * Early commit (LLM_STREAM_COMMIT_AFTER_MS): a stream whose first event is
 * slower than the threshold commits without it, on the target being tried,
 * and from then on cannot fall back; it still ends with its events or an
 * error thrown from them. Short settings stand in for the 20 s default.
 */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { LLMStreamEvent } from "../supabase/functions/_shared/llm/types.ts";
import type { RouterConfig } from "../supabase/functions/_shared/llm/config.ts";
import { ask, never, routerWorld } from "./helpers/router-world.ts";

/** Commit after 40 ms; the first event's own timeout is far longer. */
const earlyCommit = (config: RouterConfig) => {
  config.timeouts.commitAfterMs = 40;
  config.timeouts.firstEventMs = 2_000;
  config.timeouts.idleMs = 2_000;
  config.timeouts.heartbeatMs = 1_234;
};

async function drain(events: AsyncIterable<LLMStreamEvent>): Promise<LLMStreamEvent[]> {
  const out: LLMStreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** "settled" when `promise` has settled by the next macrotask, else "pending". */
async function stateOf(promise: Promise<unknown> | undefined): Promise<"settled" | "pending"> {
  if (!promise) return "settled";
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return settled ? "settled" : "pending";
}

const code = (expected: string) => (error: unknown) => {
  assert.ok(error instanceof LLMError, String(error));
  assert.equal(error.code, expected, error.message);
  return true;
};

Deno.test("early commit: a first event slower than the threshold commits on the target being tried, then delivers its events", async () => {
  const world = routerWorld(earlyCommit);
  world.fakes.script("gpt-4o-mini", { streamText: "thought it through", firstEventAfterMs: 300 });
  const started = performance.now();
  const routed = await world.router.stream(ask(), never());
  const committedAfter = performance.now() - started;

  assert.ok(committedAfter < 250, `committed after ${committedAfter} ms, not at the first event`);
  assert.equal(routed.route.provider, "openai");
  assert.equal(routed.route.model, "gpt-4o-mini");
  assert.equal(routed.route.fallbackIndex, 0);
  assert.equal(await stateOf(routed.firstEvent), "pending");
  assert.equal(routed.heartbeatMs, 1_234, "the SSE writer gets the heartbeat interval");

  const events = await drain(routed.events);
  assert.deepEqual(events.map((e) => e.type), [
    "start",
    "text-delta",
    "text-delta",
    "text-delta",
    "finish",
  ]);
  assert.equal(await stateOf(routed.firstEvent), "settled");
  const end = await routed.completion;
  assert.ok(end.ok);
  assert.ok(end.costUsd > 0);
});

Deno.test("early commit: a failure before the first event is then the stream's error, with no fallback", async () => {
  const world = routerWorld(earlyCommit);
  world.fakes.script("gpt-4o-mini", {
    streamText: "never",
    firstEventAfterMs: 200,
    failAfter: 0,
    error: "PROVIDER_ERROR",
  });
  const routed = await world.router.stream(ask(), never());
  assert.equal(routed.route.model, "gpt-4o-mini");

  await assert.rejects(drain(routed.events), code("PROVIDER_ERROR"));
  const end = await routed.completion;
  assert.equal(!end.ok && end.error.code, "PROVIDER_ERROR");
  assert.deepEqual(world.fakes.calls.map((c) => c.model), ["gpt-4o-mini"], "no fallback");
  assert.equal(await stateOf(routed.firstEvent), "settled", "settles on failure, never rejects");
});

Deno.test("early commit: a first event that never comes ends as TIMEOUT at the first event's timeout, not a fallback", async () => {
  const world = routerWorld((config) => {
    earlyCommit(config);
    config.timeouts.firstEventMs = 250;
  });
  world.fakes.script("gpt-4o-mini", { hang: true });
  const routed = await world.router.stream(ask(), never());
  assert.equal(routed.route.model, "gpt-4o-mini");
  await assert.rejects(drain(routed.events), code("TIMEOUT"));
  assert.equal(world.fakes.calls.length, 1);
  assert.equal(world.fakes.calls[0].aborted(), true, "the upstream call is stopped");
});

Deno.test("early commit: a first event inside the threshold commits as before, and an early failure still falls back", async () => {
  const world = routerWorld((config) => {
    earlyCommit(config);
    config.retry.maxRetries = 0;
  });
  world.fakes.script("gpt-4o-mini", {
    streamText: "x",
    firstEventAfterMs: 10,
    failAfter: 0,
    error: "PROVIDER_ERROR",
  });
  world.fakes.script("claude-haiku-4-5", { streamText: "quick answer" });
  const routed = await world.router.stream(ask(), never());
  assert.equal(routed.route.model, "claude-haiku-4-5");
  assert.equal(routed.route.fallbackIndex, 1);
  assert.equal(await stateOf(routed.firstEvent), "settled");
  assert.equal((await drain(routed.events)).at(-1)!.type, "finish");
});
