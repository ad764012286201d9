/** Router failures as HTTP errors, in the native shape or OpenAI's. */
import { errorResponse, HttpError } from "../_shared/http/errors.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { RateLimitRefusal } from "../_shared/guards/gateway-guards.ts";
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

/**
 * An error response OpenAI's SDKs parse: `{error: {message, type, code, param}}`
 * with our code, so `err.code` in the SDK is the gateway's code.
 */
export function openAIErrorResponse(error: HttpError): Response {
  const response = errorResponse(error);
  const type = error.status === 401
    ? "authentication_error"
    : error.status === 429
    ? "rate_limit_error"
    : error.status < 500
    ? "invalid_request_error"
    : "api_error";
  return new Response(
    JSON.stringify({
      error: {
        message: error.message,
        type,
        code: error.code,
        param: typeof error.details.field === "string" ? error.details.field : null,
        ...error.details,
      },
    }),
    { status: response.status, headers: response.headers },
  );
}

/** Runs `handler`, rendering router and HTTP errors in OpenAI's shape. */
export async function withOpenAIErrors(handler: () => Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (error) {
    if (error instanceof LLMError) return openAIErrorResponse(httpErrorFrom(error));
    if (error instanceof HttpError) return openAIErrorResponse(error);
    throw error;
  }
}
