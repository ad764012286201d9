/**
 * Turns whatever the OpenAI SDK throws (HTTP errors, stream error events,
 * connection failures, aborts, unparsable bodies) into a classified
 * `LLMError`, so every OpenAI-compatible provider fails the same way.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { classifyProviderFailure, LLMError, type ProviderFailure } from "../errors.ts";

/** What a failure is classified against. */
export interface OpenAIFailureContext {
  provider: string;
  model: string;
  signal: AbortSignal;
  /** Current time in ms, read when a failure is classified (for retry-after dates). */
  now: () => number;
  /** Removed from provider messages: a custom provider's key may match no redaction pattern. */
  apiKey: string;
}

/** The `LLMError` for anything thrown while calling an OpenAI-compatible provider. */
export function openAIFailure(error: unknown, ctx: OpenAIFailureContext): LLMError {
  const base = { provider: ctx.provider, model: ctx.model, nowMs: ctx.now() };
  const fail = (failure: Partial<ProviderFailure>) =>
    classifyProviderFailure({ ...base, ...failure });
  // Checked first, even for an LLMError: once the router aborted, whatever broke broke because
  // of it, and the SDK hides aborts (a stream just ends as if complete).
  const aborted = abortTransport(ctx.signal);
  if (aborted) return fail({ transport: aborted });
  if (error instanceof LLMError) return error;
  if (error instanceof APIConnectionTimeoutError) return fail({ transport: "timeout" });
  if (error instanceof APIUserAbortError) return fail({ transport: "aborted" });
  if (error instanceof APIConnectionError) return fail({ transport: "network" });
  if (error instanceof APIError) {
    const body = (error.error ?? {}) as { message?: unknown; code?: unknown; type?: unknown };
    const providerCode = textOf(body.code) ?? textOf(body.type);
    return fail({
      status: error.status ?? streamErrorStatus(body.code, providerCode),
      message: scrub(textOf(body.message) ?? error.message, ctx.apiKey),
      providerCode,
      headers: error.headers,
    });
  }
  if (error instanceof SyntaxError) return fail({ transport: "malformed" });
  // fetch reports a connection dropped while reading the body as a TypeError.
  if (error instanceof TypeError) return fail({ transport: "network" });
  return fail({ message: scrub(String(error), ctx.apiKey) });
}

/**
 * The `LLMError` for an answer the SDK accepted but that is unusable (a stream
 * that ended without a finish reason, a body without choices), unless an abort explains it.
 */
export function openAIMalformed(ctx: OpenAIFailureContext, what: string): LLMError {
  const malformed = classifyProviderFailure({
    provider: ctx.provider,
    model: ctx.model,
    nowMs: ctx.now(),
    transport: "malformed",
    message: what,
  });
  return openAIFailure(malformed, ctx);
}

function abortTransport(signal: AbortSignal): "timeout" | "aborted" | undefined {
  if (!signal.aborted) return undefined;
  const reason: unknown = signal.reason;
  return reason instanceof DOMException && reason.name === "TimeoutError" ? "timeout" : "aborted";
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

function scrub(message: string, apiKey: string): string {
  return apiKey.length >= 8 ? message.split(apiKey).join("[redacted]") : message;
}
