/**
 * The request deadline (LLM_REQUEST_DEADLINE_MS): one budget of time across
 * retries and fallbacks. No attempt starts without time to run, an attempt's
 * timeout is the lesser of its own and the time left, no backoff is slept
 * that would leave none, and past it the answer is 504 TIMEOUT.
 */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { ProviderAdapter } from "../supabase/functions/_shared/llm/providers/provider.ts";
import { ToolRegistry } from "../supabase/functions/_shared/llm/tools.ts";
import type { LLMStreamEvent } from "../supabase/functions/_shared/llm/types.ts";
import { ask, never, type RouterWorld, routerWorld } from "./helpers/router-world.ts";

const timeout504 = (error: unknown) => {
  assert.ok(error instanceof LLMError, String(error));
  assert.equal(error.code, "TIMEOUT", error.message);
  assert.equal(error.status, 504);
  return true;
};

/** A world whose provider calls each take `ms` on the router's clock before they answer. */
function slowWorld(
  ms: number,
  tune: Parameters<typeof routerWorld>[0],
  options: Parameters<typeof routerWorld>[1] = {},
): RouterWorld {
  const world: RouterWorld = routerWorld(tune, {
    ...options,
    createAdapter: (init) => {
      const fake = world.fakes.createAdapter(init);
      const adapter: ProviderAdapter = {
        name: fake.name,
        chat: (request, options) => {
          world.clock.advance(ms);
          return fake.chat(request, options);
        },
        stream: fake.stream,
      };
      return adapter;
    },
  });
  return world;
}

Deno.test("deadline: retries stop when the next backoff would leave no time, and nothing starts after; 504 TIMEOUT", async () => {
  // Each call takes 500 ms of a 1 s deadline: the first retry (50 ms backoff) fits, the second
  // (100 ms) would start with nothing left, and so would the fallback.
  const world = slowWorld(500, (config) => (config.timeouts.deadlineMs = 1_000));
  world.fakes.script(
    "gpt-4o-mini",
    { error: "PROVIDER_ERROR" },
    { error: "PROVIDER_ERROR" },
    { error: "PROVIDER_ERROR" },
  );
  await assert.rejects(world.router.chat(ask(), never()), (error: unknown) => {
    timeout504(error);
    assert.equal((error as LLMError).details.attempts, 2);
    assert.equal((error as LLMError).details.lastErrorCode, "PROVIDER_ERROR");
    return true;
  });
  assert.deepEqual(world.fakes.calls.map((c) => c.model), ["gpt-4o-mini", "gpt-4o-mini"]);
  assert.deepEqual(world.sleeps, [50], "the second backoff was not slept");
});

Deno.test("deadline: a retry-after the deadline cannot wait for moves to the fallback at once", async () => {
  // Without the deadline this retry-after is honoured (llm_router_resilience_test).
  const world = routerWorld((config) => (config.timeouts.deadlineMs = 1_000));
  world.fakes.script("gpt-4o-mini", { error: "RATE_LIMIT", retryAfterMs: 1_500 });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.model, "claude-haiku-4-5");
  assert.equal(answer.route.fallbackIndex, 1);
  assert.deepEqual(world.sleeps, []);
});

Deno.test("deadline: an attempt's timeout shrinks to the time left", async () => {
  const world = routerWorld((config) => {
    config.timeouts.requestMs = 5_000;
    config.timeouts.deadlineMs = 300;
  }, { clock: { now: () => Date.now() } });
  world.fakes.script("gpt-4o-mini", { hang: true });
  const started = performance.now();
  await assert.rejects(world.router.chat(ask(), never()), timeout504);
  const took = performance.now() - started;
  assert.ok(took >= 250 && took < 2_000, `ended after ${took} ms, not the attempt's own 5 s`);
  assert.equal(world.fakes.calls.length, 1, "no fallback started without time left");
  assert.equal(world.fakes.calls[0].aborted(), true);
});

Deno.test("deadline: a deadline already spent starts no attempt and asks no gate", async () => {
  const world = routerWorld();
  let admitted = 0;
  const gate = {
    admit: () => {
      admitted++;
      return Promise.resolve({ settle: () => {}, release: () => {} });
    },
  };
  await assert.rejects(
    world.router.chat({ ...ask(), gate, deadlineAt: world.clock.now() + 50 }, never()),
    timeout504,
  );
  assert.equal(world.fakes.calls.length, 0);
  assert.equal(admitted, 0);
});

Deno.test("deadline: a tool loop's steps share one deadline", async () => {
  const tools = new ToolRegistry([{
    definition: { name: "lookup", parameters: { type: "object" } },
    execute: () => Promise.resolve({ found: true }),
  }]);
  // Each model call takes 600 ms of a 1 s deadline: step 1 ends at 600, step 2 starts with
  // 400 ms left and ends at 1 200; step 3 would have a fresh second of its own, but not here.
  const world = slowWorld(600, (config) => (config.timeouts.deadlineMs = 1_000), { tools });
  const lookup = { text: "", toolCalls: [{ id: "call_1", name: "lookup", arguments: "{}" }] };
  world.fakes.script("gpt-4o-mini", lookup, {
    ...lookup,
    toolCalls: [{ ...lookup.toolCalls[0], id: "call_2" }],
  });
  await assert.rejects(world.router.chatWithTools(ask(), 5, never()), timeout504);
  assert.equal(world.fakes.calls.length, 2);
});

Deno.test("deadline: an early-committed stream still waiting for its first event ends with TIMEOUT at the deadline", async () => {
  const world = routerWorld((config) => {
    config.timeouts.commitAfterMs = 40;
    config.timeouts.firstEventMs = 5_000;
    config.timeouts.deadlineMs = 250;
  });
  world.fakes.script("gpt-4o-mini", { hang: true });
  const started = performance.now();
  const routed = await world.router.stream(ask(), never());
  const seen: LLMStreamEvent[] = [];
  await assert.rejects(async () => {
    for await (const event of routed.events) seen.push(event);
  }, timeout504);
  assert.ok(performance.now() - started < 2_000, "ended at the deadline, not the 5 s timeout");
  assert.deepEqual(seen, []);
  assert.equal(world.fakes.calls.length, 1);
});
