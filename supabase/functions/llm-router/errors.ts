/** Router failures as HTTP errors (each route renders them in its dialect's shape). */
import { HttpError } from "../_shared/http/errors.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { RateLimitRefusal } from "../_shared/guards/rate-limit-scope.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";

/**
 * The `HttpError` for an `LLMError`, with `Retry-After` when the router knows
 * how long to wait, and the `x-ratelimit-*` headers when the caller's own bucket refused.
 */
export function httpErrorFrom(error: LLMError): HttpError {
  const headers: Record<string, string> = {
    ...(error.retryAfterMs === undefined
      ? {}
      : { "retry-after": String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) }),
    ...(error instanceof RateLimitRefusal ? rateLimitHeaders(error.rateLimit) : {}),
  };
  const details: Record<string, string | number | boolean | null> = {
    retryable: error.retryable,
    ...error.details,
  };
  if (error.provider) details.provider = error.provider;
  if (error.retryAfterMs !== undefined) details.retryAfterMs = error.retryAfterMs;
  return new HttpError(error.status, error.code, error.message, details, headers);
}
