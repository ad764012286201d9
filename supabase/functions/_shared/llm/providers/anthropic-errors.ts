/**
 * Turns whatever the Anthropic SDK throws (HTTP errors, `error` stream events,
 * connection failures, aborts, unparsable bodies) into a classified `LLMError`.
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import { classifyProviderFailure, LLMError, type ProviderFailure } from "../errors.ts";

/** What a failure is classified against. */
export interface AnthropicFailureContext {
  provider: string;
  model: string;
  signal: AbortSignal;
  /** Current time in ms, read when a failure is classified (for retry-after dates). */
  now: () => number;
  /** Removed from provider messages, whatever its shape. */
  apiKey: string;
}

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

/** The `LLMError` for anything thrown while calling Anthropic. */
export function anthropicFailure(error: unknown, ctx: AnthropicFailureContext): LLMError {
  const fail = (failure: Partial<ProviderFailure>) =>
    classifyProviderFailure({
      provider: ctx.provider,
      model: ctx.model,
      nowMs: ctx.now(),
      ...failure,
    });
  // Checked first, even for an LLMError: once the router aborted, whatever broke broke because
  // of it, and the SDK hides aborts (a stream just ends as if complete).
  if (ctx.signal.aborted) {
    const reason: unknown = ctx.signal.reason;
    const timedOut = reason instanceof DOMException && reason.name === "TimeoutError";
    return fail({ transport: timedOut ? "timeout" : "aborted" });
  }
  if (error instanceof LLMError) return error;
  if (error instanceof APIConnectionTimeoutError) return fail({ transport: "timeout" });
  if (error instanceof APIUserAbortError) return fail({ transport: "aborted" });
  if (error instanceof APIConnectionError) return fail({ transport: "network" });
  if (error instanceof APIError) {
    const type = error.type ?? undefined;
    return fail({
      status: error.status ?? STATUS_OF_TYPE[type ?? ""] ?? 500,
      message: scrub(error.apiMessage ?? error.message, ctx.apiKey),
      providerCode: error.errorCode ?? type,
      headers: error.headers,
    });
  }
  if (error instanceof SyntaxError) return fail({ transport: "malformed" });
  // fetch reports a connection dropped while reading the body as a TypeError.
  if (error instanceof TypeError) return fail({ transport: "network" });
  return fail({ message: scrub(String(error), ctx.apiKey) });
}

/**
 * The `LLMError` for an answer the SDK accepted but that is unusable (a
 * stream without `message_stop`), unless an abort explains it.
 */
export function anthropicMalformed(ctx: AnthropicFailureContext, what: string): LLMError {
  const malformed = classifyProviderFailure({
    provider: ctx.provider,
    model: ctx.model,
    nowMs: ctx.now(),
    transport: "malformed",
    message: what,
  });
  return anthropicFailure(malformed, ctx);
}

function scrub(message: string, apiKey: string): string {
  return apiKey.length >= 8 ? message.split(apiKey).join("[redacted]") : message;
}
