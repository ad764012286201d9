/** Router unit tests: retries, backoff, fallbacks, final errors, timeouts and aborts. */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import { ask, never, routerWorld } from "./helpers/router-world.ts";

const code = (expected: string) => (error: unknown) => {
  assert.ok(error instanceof LLMError, String(error));
  assert.equal(error.code, expected, error.message);
  return true;
};

Deno.test("retry: a retryable error is retried with full-jitter backoff, then succeeds", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" }, { error: "NETWORK" });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.model, "gpt-4o-mini");
  assert.equal(answer.route.attempts, 3);
  assert.equal(answer.route.fallbackIndex, 0);
  // random() = 0.5: half of min(max, base × 2^(n-1)).
  assert.deepEqual(world.sleeps, [50, 100]);
});

Deno.test("retry: retry-after is honoured when within the cap", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { error: "RATE_LIMIT", retryAfterMs: 1_500 });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.model, "gpt-4o-mini");
  assert.deepEqual(world.sleeps, [1_500]);
});

Deno.test("retry: a retry-after beyond the cap moves to the next target without waiting", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { error: "RATE_LIMIT", retryAfterMs: 30_000 });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.model, "claude-haiku-4-5");
  assert.equal(answer.route.fallbackIndex, 1);
  assert.deepEqual(world.sleeps, []);
});

Deno.test("fallback: after the retries run out the next target serves", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" }, { error: "PROVIDER_ERROR" }, {
    error: "PROVIDER_ERROR",
  });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.provider, "anthropic");
  assert.equal(answer.route.attempts, 4);
  assert.equal(answer.route.fallbackIndex, 1);
  assert.deepEqual(world.fakes.calls.map((c) => c.model), [
    "gpt-4o-mini",
    "gpt-4o-mini",
    "gpt-4o-mini",
    "claude-haiku-4-5",
  ]);
});

Deno.test("no retry for non-retryable errors: a rejected key falls back at once, never retried", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { error: "INVALID_API_KEY", fallback: true });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.provider, "anthropic");
  assert.equal(world.fakes.calls.filter((c) => c.model === "gpt-4o-mini").length, 1);
  assert.deepEqual(world.sleeps, []);
});

Deno.test("no fallback for errors that forbid it: a validation error ends the request", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { error: "VALIDATION_ERROR", fallback: false });
  await assert.rejects(world.router.chat(ask(), never()), code("VALIDATION_ERROR"));
  assert.equal(world.fakes.calls.length, 1);
});

Deno.test("context window: a provider's context-length error falls back to a larger window only", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["gpt-4o-mini", "gpt-4o", "gpt-4.1"];
  });
  world.fakes.script("gpt-4o-mini", { error: "TOKEN_LIMIT_EXCEEDED", fallback: true });
  const answer = await world.router.chat(ask(), never());
  // gpt-4o has the same 128k window: skipped; gpt-4.1 has 1M.
  assert.equal(answer.model, "gpt-4.1");
  assert.deepEqual(world.fakes.calls.map((c) => c.model), ["gpt-4o-mini", "gpt-4.1"]);
});

Deno.test("final error: every attempt failing is 502 MAX_RETRIES_EXCEEDED naming the last cause", async () => {
  const world = routerWorld((config) => (config.useCaseChains.general = ["gpt-4o-mini"]));
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" }, { error: "PROVIDER_ERROR" }, {
    error: "TIMEOUT",
  });
  await assert.rejects(world.router.chat(ask(), never()), (error: unknown) => {
    code("MAX_RETRIES_EXCEEDED")(error);
    const e = error as LLMError;
    assert.equal(e.status, 502);
    assert.equal(e.details.attempts, 3);
    assert.equal(e.details.lastErrorCode, "TIMEOUT");
    return true;
  });
});

Deno.test("final error: rate limits everywhere are a 429 RATE_LIMIT with the shortest retry-after", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["gpt-4o-mini", "claude-haiku-4-5"];
    config.retry.maxRetries = 0;
  });
  world.fakes.script("gpt-4o-mini", { error: "RATE_LIMIT", retryAfterMs: 5_000 });
  world.fakes.script("claude-haiku-4-5", { error: "RATE_LIMIT", retryAfterMs: 3_000 });
  await assert.rejects(world.router.chat(ask(), never()), (error: unknown) => {
    code("RATE_LIMIT")(error);
    assert.equal((error as LLMError).status, 429);
    assert.equal((error as LLMError).retryAfterMs, 3_000);
    return true;
  });
});

Deno.test("final error: a single attempt reports its own error", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["gpt-4o-mini"];
    config.retry.maxRetries = 0;
  });
  world.fakes.script("gpt-4o-mini", { error: "NETWORK" });
  await assert.rejects(world.router.chat(ask(), never()), code("NETWORK"));
});

Deno.test("timeout: an attempt that hangs is aborted after requestMs, classified TIMEOUT, and retried", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { hang: true });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.route.attempts, 2);
  assert.equal(world.fakes.calls[0].aborted(), true);
});

Deno.test("abort: the caller leaving aborts the attempt and stops all retries and fallbacks", async () => {
  const world = routerWorld();
  world.fakes.script("gpt-4o-mini", { hang: true });
  const caller = new AbortController();
  const pending = world.router.chat(ask(), caller.signal);
  await new Promise((r) => setTimeout(r, 20));
  caller.abort();
  await assert.rejects(pending, code("ABORTED"));
  assert.equal(world.fakes.calls.length, 1);
  assert.equal(world.fakes.calls[0].aborted(), true);
});

Deno.test("cost: an answer carries its cost from the catalog prices", async () => {
  const world = routerWorld();
  const answer = await world.router.chat(ask(), never());
  // gpt-4o-mini: 100 input × $0.15/M + 20 output × $0.60/M.
  assert.ok(Math.abs(answer.costUsd - (100 * 0.15 + 20 * 0.6) / 1e6) < 1e-12);
});
