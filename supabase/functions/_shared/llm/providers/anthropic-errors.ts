/**
 * How Anthropic says what went wrong: `{type: "error", error: {type,
 * message, details?: {error_code}}}`, as an HTTP error body or as an `error`
 * event inside a 200 stream.
 */
import type { ErrorResponse } from "@anthropic-ai/sdk/resources/shared";
import { type ProviderErrorBody, textOf } from "./failures.ts";

/**
 * The HTTP status each Anthropic error type stands for. An `error` event
 * inside a 200 stream has no status of its own; this makes an `overloaded_error`
 * there as retryable as a 529 answer.
 */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  timeout_error: 408,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

/** The error object, with the `details` some errors carry. */
type ErrorFields = Partial<ErrorResponse["error"]> & { details?: { error_code?: unknown } | null };

/** What an Anthropic error body or `error` event says. */
export function readAnthropicError(body: unknown): ProviderErrorBody {
  const error = (body as { error?: ErrorFields } | null | undefined)?.error;
  if (!error || typeof error !== "object") return {};
  const type = textOf(error.type);
  return {
    message: textOf(error.message),
    // A specific code (`details.error_code`) says more than the broad type.
    providerCode: textOf(error.details?.error_code) ?? type,
    status: STATUS_OF_TYPE[type ?? ""] ?? 500,
  };
}
