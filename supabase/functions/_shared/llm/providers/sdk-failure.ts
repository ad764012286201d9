/**
 * What both SDK adapters share when a call fails: aborts are classified from
 * the signal's reason before anything else (the SDKs hide them: a stream just
 * ends), transport failures by error class, and the adapter's key is scrubbed
 * from any provider message in every form it may be echoed in. Each adapter
 * supplies only how its SDK's API errors read.
 */
import { classifyProviderFailure, LLMError, type ProviderFailure } from "../errors.ts";
import type { SecretScrubber } from "../../runtime/secret-scrubber.ts";

/** What a failure is classified against. */
export interface SdkFailureContext {
  provider: string;
  model: string;
  signal: AbortSignal;
  /** Current time in ms, read when a failure is classified (for retry-after dates). */
  now: () => number;
  /**
   * The adapter's key, removed from provider messages raw, URL-encoded,
   * JSON-escaped, base64'd or masked: a custom provider's key may match no
   * redaction pattern, and an echo may be transformed.
   */
  secrets: SecretScrubber;
}

/** An SDK's error classes (the two SDKs have the same family, as different classes). */
export interface SdkErrorClasses<ApiError> {
  APIError: abstract new (...args: never[]) => ApiError;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
}

/** Classifies anything an SDK call threw; `readApiError` reads the SDK's HTTP/stream errors. */
export function sdkFailure<ApiError>(
  error: unknown,
  ctx: SdkFailureContext,
  classes: SdkErrorClasses<ApiError>,
  readApiError: (error: ApiError) => Partial<ProviderFailure>,
): LLMError {
  const fail = (failure: Partial<ProviderFailure>) =>
    classifyProviderFailure({
      provider: ctx.provider,
      model: ctx.model,
      nowMs: ctx.now(),
      ...failure,
      secrets: ctx.secrets,
    });
  // Checked first, even for an LLMError: once the router aborted, whatever broke broke because of it.
  if (ctx.signal.aborted) {
    const reason: unknown = ctx.signal.reason;
    const timedOut = reason instanceof DOMException && reason.name === "TimeoutError";
    return fail({ transport: timedOut ? "timeout" : "aborted" });
  }
  if (error instanceof LLMError) return error;
  if (error instanceof classes.APIConnectionTimeoutError) return fail({ transport: "timeout" });
  if (error instanceof classes.APIUserAbortError) return fail({ transport: "aborted" });
  if (error instanceof classes.APIConnectionError) return fail({ transport: "network" });
  if (error instanceof classes.APIError) {
    return fail(readApiError(error));
  }
  if (error instanceof SyntaxError) return fail({ transport: "malformed" });
  // fetch reports a connection dropped while reading the body as a TypeError.
  if (error instanceof TypeError) return fail({ transport: "network" });
  return fail({ message: String(error) });
}

/** The failure of an answer that arrived but is unusable, unless an abort explains it. */
export function malformedAnswer(
  ctx: SdkFailureContext,
  what: string,
  classify: (error: unknown) => LLMError,
): LLMError {
  return classify(classifyProviderFailure({
    provider: ctx.provider,
    model: ctx.model,
    nowMs: ctx.now(),
    transport: "malformed",
    message: what,
    secrets: ctx.secrets,
  }));
}
