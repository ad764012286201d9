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
import type { LLMError } from "../errors.ts";
import { malformedAnswer, sdkFailure, type SdkFailureContext } from "./sdk-failure.ts";

/** What a failure is classified against. */
export type AnthropicFailureContext = SdkFailureContext;

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

const CLASSES = { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError };

/** The `LLMError` for anything thrown while calling Anthropic. */
export function anthropicFailure(error: unknown, ctx: AnthropicFailureContext): LLMError {
  return sdkFailure(error, ctx, CLASSES, (apiError: APIError) => {
    const type = apiError.type ?? undefined;
    return {
      status: apiError.status ?? STATUS_OF_TYPE[type ?? ""] ?? 500,
      message: apiError.apiMessage ?? apiError.message,
      providerCode: apiError.errorCode ?? type,
      headers: apiError.headers,
    };
  });
}

/**
 * The `LLMError` for an answer the SDK accepted but that is unusable (a
 * stream without `message_stop`), unless an abort explains it.
 */
export function anthropicMalformed(ctx: AnthropicFailureContext, what: string): LLMError {
  return malformedAnswer(ctx, what, (error) => anthropicFailure(error, ctx));
}
