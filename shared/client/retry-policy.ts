/**
 * When the client tries a call again, how long it waits, and when a caller's
 * fallback takes over. Pure functions, so the decisions are tested alone.
 */
import type { LLMRouterError } from "./errors.ts";

/** Answers that say the request itself is wrong or not allowed: the same request fails again. */
const NEVER_RETRIED = new Set([400, 401, 402, 403]);
/** Backoff of retries the gateway gave no wait for: full jitter under an exponential cap. */
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 4_000;

/**
 * Milliseconds to wait before retry number `attempt + 1` after `error`, or
 * undefined when it must not be retried: the retries are used up, the answer
 * was a 400/401/402/403, or the gateway did not mark it retryable (a failed
 * connection is). A `Retry-After` is honoured as given.
 */
export function retryDelayMs(
  error: LLMRouterError,
  attempt: number,
  maxRetries: number,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= maxRetries || NEVER_RETRIED.has(error.status) || !error.retryable) {
    return undefined;
  }
  if (error.retryAfterMs !== undefined) return error.retryAfterMs;
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
}

/**
 * Whether `callWithFallback` hands over to the caller's fallback: when the
 * gateway could not be reached or answered in time (status 0, not the
 * caller's own abort), or answered a retryable 5xx. Never after a 4xx: the
 * request or the caller is at fault, and another path would hide it.
 */
export function fallbackApplies(error: LLMRouterError): boolean {
  if (error.status === 0) return error.code !== "ABORTED";
  return error.status >= 500 && error.retryable;
}
