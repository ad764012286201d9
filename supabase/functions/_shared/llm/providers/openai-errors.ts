/**
 * Turns whatever the OpenAI SDK throws (HTTP errors, stream error events,
 * connection failures, aborts, unparsable bodies) into a classified
 * `LLMError`, so every OpenAI-compatible provider fails the same way.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { LLMError } from "../errors.ts";
import { malformedAnswer, sdkFailure, type SdkFailureContext } from "./sdk-failure.ts";

/** What a failure is classified against. */
export type OpenAIFailureContext = SdkFailureContext;

const CLASSES = { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError };

/** The `LLMError` for anything thrown while calling an OpenAI-compatible provider. */
export function openAIFailure(error: unknown, ctx: OpenAIFailureContext): LLMError {
  return sdkFailure(error, ctx, CLASSES, (apiError: APIError) => {
    const body = (apiError.error ?? {}) as { message?: unknown; code?: unknown; type?: unknown };
    const providerCode = textOf(body.code) ?? textOf(body.type);
    return {
      status: apiError.status ?? streamErrorStatus(body.code, providerCode),
      message: textOf(body.message) ?? apiError.message,
      providerCode,
      headers: apiError.headers,
    };
  });
}

/**
 * The `LLMError` for an answer the SDK accepted but that is unusable (a stream
 * that ended without a finish reason, a body without choices), unless an abort explains it.
 */
export function openAIMalformed(ctx: OpenAIFailureContext, what: string): LLMError {
  return malformedAnswer(ctx, what, (error) => openAIFailure(error, ctx));
}

/**
 * An HTTP-like status for an error event sent inside a 200 stream, so it
 * classifies as what it is. OpenRouter puts the status itself in `code`;
 * anything unrecognised counts as a server failure, since the request was accepted.
 */
function streamErrorStatus(code: unknown, providerCode: string | undefined): number {
  if (typeof code === "number" && code >= 400 && code <= 599) return code;
  const text = providerCode ?? "";
  if (/rate_limit|insufficient_quota|^requests$|^tokens$/.test(text)) return 429;
  if (/context_length|invalid_request/.test(text)) return 400;
  if (/invalid_api_key|authentication/.test(text)) return 401;
  return 500;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}
