/** The circuit breaker: its state machine, and the router skipping open circuits. */
import assert from "node:assert/strict";
import {
  MemoryCircuitBreakerStore,
  nextCircuit,
} from "../supabase/functions/_shared/llm/resilience.ts";
import { ask, never, routerWorld } from "./helpers/router-world.ts";

const policy = { failureThreshold: 5, openMs: 60_000, halfOpenSuccesses: 2 };

Deno.test("breaker: CLOSED → OPEN after 5 consecutive failures; a success resets the count", async () => {
  const store = new MemoryCircuitBreakerStore(policy);
  for (let i = 0; i < 4; i++) assert.equal(await store.recordFailure("k", 0), "CLOSED");
  assert.equal(await store.recordSuccess("k", 0), "CLOSED");
  for (let i = 0; i < 4; i++) assert.equal(await store.recordFailure("k", 0), "CLOSED");
  assert.equal(await store.recordFailure("k", 0), "OPEN");
  assert.equal(await store.state("k", 59_999), "OPEN");
});

Deno.test("breaker: OPEN → HALF_OPEN after 60 s; CLOSED after 2 successes; OPEN again on a half-open failure", async () => {
  const store = new MemoryCircuitBreakerStore(policy);
  for (let i = 0; i < 5; i++) await store.recordFailure("k", 1_000);
  assert.equal(await store.state("k", 61_000), "HALF_OPEN");
  assert.equal(await store.recordSuccess("k", 61_000), "HALF_OPEN");
  assert.equal(await store.recordSuccess("k", 61_001), "CLOSED");
  for (let i = 0; i < 5; i++) await store.recordFailure("k", 70_000);
  assert.equal(await store.state("k", 130_000), "HALF_OPEN");
  assert.equal(await store.recordFailure("k", 130_000), "OPEN");
  assert.equal(await store.state("k", 189_999), "OPEN");
  assert.equal(await store.state("k", 190_000), "HALF_OPEN");
});

Deno.test("breaker: thresholds are configurable", () => {
  const custom = { failureThreshold: 2, openMs: 10, halfOpenSuccesses: 1 };
  let record = nextCircuit(undefined, "failure", 0, custom);
  record = nextCircuit(record, "failure", 0, custom);
  assert.equal(record.state, "OPEN");
  record = nextCircuit(record, "success", 10, custom);
  assert.equal(record.state, "CLOSED");
});

Deno.test("breaker in the router: an open circuit is skipped without a call until its time is up", async () => {
  const world = routerWorld((config) => {
    config.retry.maxRetries = 0;
    config.breaker = { failureThreshold: 2, openMs: 60_000, halfOpenSuccesses: 2 };
  });
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" }, { error: "PROVIDER_ERROR" });
  await world.router.chat(ask(), never());
  await world.router.chat(ask(), never());
  const before = world.fakes.calls.length;
  const third = await world.router.chat(ask(), never());
  assert.equal(third.model, "claude-haiku-4-5");
  assert.equal(world.fakes.calls.length - before, 1, "gpt-4o-mini was not called");
  assert.ok((await world.router.plan(ask())).targets.some((t) => t.model.id === "gpt-4o-mini"));

  world.clock.advance(60_000);
  const probe = await world.router.chat(ask(), never());
  assert.equal(probe.model, "gpt-4o-mini", "half-open lets a probe through");
});

Deno.test("breaker in the router: non-retryable errors (bad request, bad key) do not open circuits", async () => {
  const world = routerWorld((config) => {
    config.breaker = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
  });
  world.fakes.script("gpt-4o-mini", { error: "INVALID_API_KEY", fallback: true });
  await world.router.chat(ask(), never());
  const next = await world.router.chat(ask(), never());
  assert.equal(next.model, "gpt-4o-mini");
});

Deno.test("breaker in the router: when every circuit is open the error is 503 CIRCUIT_BREAKER_OPEN", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["gpt-4o-mini"];
    config.retry.maxRetries = 0;
    config.breaker = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
  });
  world.fakes.script("gpt-4o-mini", { error: "NETWORK" });
  await assert.rejects(world.router.chat(ask(), never()));
  await assert.rejects(world.router.chat(ask(), never()), (error: unknown) => {
    assert.equal((error as { code: string }).code, "CIRCUIT_BREAKER_OPEN");
    assert.equal((error as { status: number }).status, 503);
    return true;
  });
  assert.equal(world.fakes.calls.length, 1);
});
