/**
 * The fault matrix: every mock fault × streamed or not × with and without a
 * fallback target, through llm-router over HTTP with the real adapters.
 * Each cell asserts the status, the error code or the SSE error event, which
 * target served, and how many provider calls it took.
 */
import assert from "node:assert/strict";
import { faultyModel, routerHttpWorld } from "./helpers/router-http-world.ts";
import { readSse } from "./helpers/sse.ts";

/** What a cell must observe. */
type Outcome =
  | { served: string; attempts: number }
  | { status: number; code: string; attempts: number }
  | { sseError: string; served: string; attempts: number };

interface Fault {
  fault: string;
  /** The model that fails (default gpt-4o-mini); the fallback is the other family. */
  primary?: string;
  plain: { alone: Outcome; withFallback: Outcome };
  stream: { alone: Outcome; withFallback: Outcome };
}

const PRIMARY = "gpt-4o-mini";
const FALLBACK = "claude-haiku-4-5";
const ok = (served: string, attempts: number): Outcome => ({ served, attempts });
const fails = (status: number, code: string, attempts: number): Outcome => ({
  status,
  code,
  attempts,
});
const midStream = (sseError: string): Outcome => ({ sseError, served: PRIMARY, attempts: 1 });
// Retries are 1 (2 attempts a target); retry-after beyond 500 ms is not waited for.
const retriedThenFallback = ok(FALLBACK, 3);
const same = (outcome: Outcome) => ({ alone: outcome, withFallback: outcome });

const MATRIX: Fault[] = [
  {
    fault: "status=500",
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
    stream: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
  },
  {
    fault: "status=429,retry-after=5",
    plain: { alone: fails(429, "RATE_LIMIT", 1), withFallback: ok(FALLBACK, 2) },
    stream: { alone: fails(429, "RATE_LIMIT", 1), withFallback: ok(FALLBACK, 2) },
  },
  {
    fault: "status=529",
    primary: FALLBACK,
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: ok(PRIMARY, 3) },
    stream: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: ok(PRIMARY, 3) },
  },
  {
    fault: "status=400,code=context_length_exceeded",
    plain: { alone: fails(400, "TOKEN_LIMIT_EXCEEDED", 1), withFallback: ok(FALLBACK, 2) },
    stream: { alone: fails(400, "TOKEN_LIMIT_EXCEEDED", 1), withFallback: ok(FALLBACK, 2) },
  },
  {
    fault: "status=401",
    plain: { alone: fails(502, "INVALID_API_KEY", 1), withFallback: ok(FALLBACK, 2) },
    stream: { alone: fails(502, "INVALID_API_KEY", 1), withFallback: ok(FALLBACK, 2) },
  },
  { fault: "delay=50", plain: same(ok(PRIMARY, 1)), stream: same(ok(PRIMARY, 1)) },
  {
    fault: "hang",
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
    stream: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
  },
  {
    fault: "reset",
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
    stream: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
  },
  // After the first event a stream is committed: the failure becomes an SSE error, never a fallback.
  {
    fault: "cut=3",
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
    stream: same(midStream("PROVIDER_ERROR")),
  },
  {
    fault: "malformed=3",
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
    stream: same(midStream("PROVIDER_ERROR")),
  },
  {
    fault: "reset-after=3",
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
    stream: same(midStream("NETWORK")),
  },
  {
    fault: "error-event=3",
    plain: same(ok(PRIMARY, 1)),
    stream: same(midStream("PROVIDER_ERROR")),
  },
  // Before the first event a stream is not committed yet: retried and falls back like any failure.
  {
    fault: "error-event=0",
    plain: same(ok(PRIMARY, 1)),
    stream: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
  },
  {
    fault: "reset-after=0",
    plain: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
    stream: { alone: fails(502, "MAX_RETRIES_EXCEEDED", 2), withFallback: retriedThenFallback },
  },
];

for (const row of MATRIX) {
  for (const stream of [false, true]) {
    for (const fallback of [false, true]) {
      const expected = (stream ? row.stream : row.plain)[fallback ? "withFallback" : "alone"];
      const name = `fault matrix: ${row.fault} × ${stream ? "stream" : "json"} × ${
        fallback ? "with" : "without"
      } fallback`;
      Deno.test(name, async () => {
        const primary = row.primary ?? PRIMARY;
        const other = primary === PRIMARY ? FALLBACK : PRIMARY;
        const failing = faultyModel(primary, row.fault);
        const world = await routerHttpWorld({
          LLM_MODELS: JSON.stringify([failing]),
          LLM_USE_CASE_CHAINS: JSON.stringify({
            general: fallback ? [failing.id, other] : [failing.id],
          }),
          LLM_MAX_RETRIES: "1",
          LLM_MAX_RETRY_AFTER_MS: "500",
          LLM_REQUEST_TIMEOUT_MS: "300",
          LLM_FIRST_EVENT_TIMEOUT_MS: "300",
          // Keep every failure visible: no circuit opens within one cell.
          LLM_BREAKER_FAILURES: "100",
        });
        try {
          const response = await world.post("", { prompt: "matrix", stream });
          const calls = world.mock.requests.length;
          if ("status" in expected) {
            assert.equal(response.status, expected.status);
            const body = await response.json();
            assert.equal(body.error.code, expected.code, body.error.message);
            assert.equal(calls, expected.attempts, "provider calls");
            return;
          }
          assert.equal(response.status, 200);
          assert.equal(
            response.headers.get("x-llm-model"),
            expected.served.replace(/::.*/, "") === primary ? failing.id : expected.served,
          );
          assert.equal(response.headers.get("x-llm-attempts"), String(expected.attempts));
          if (!stream) {
            const body = await response.json();
            assert.equal(body.success, true);
            assert.equal(calls, expected.attempts, "provider calls");
            return;
          }
          const events = await readSse(response);
          if ("sseError" in expected) {
            const last = events.at(-1)!;
            assert.equal(last.event, "error");
            const error = JSON.parse(last.data).error;
            assert.equal(error.code, expected.sseError, error.message);
            assert.equal(error.retryable, true);
            assert.ok(
              events.some((e) => e.data.includes('"type":"text"')),
              "text before the failure was delivered",
            );
            assert.ok(
              !events.some((e) => e.data === "[DONE]"),
              "a failed stream never ends in [DONE]",
            );
          } else {
            assert.equal(events.at(-1)!.data, "[DONE]");
          }
          assert.equal(calls, expected.attempts, "provider calls");
        } finally {
          await world.close();
        }
      });
    }
  }
}
