/**
 * What both SDK adapters share when a call fails: aborts are classified from
 * the signal's reason before anything else (the SDKs hide them: a stream just
 * ends), transport failures by error class, and the key is scrubbed from any
 * provider message. Each adapter supplies only how its SDK's API errors read.
 */
import { classifyProviderFailure, LLMError, type ProviderFailure } from "../errors.ts";

/** What a failure is classified against. */
export interface SdkFailureContext {
  provider: string;
  model: string;
  signal: AbortSignal;
  /** Current time in ms, read when a failure is classified (for retry-after dates). */
  now: () => number;
  /** Removed from provider messages: a custom provider's key may match no redaction pattern. */
  apiKey: string;
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
    const read = readApiError(error);
    return fail({
      ...read,
      message: read.message === undefined ? undefined : scrubKey(read.message, ctx.apiKey),
    });
  }
  if (error instanceof SyntaxError) return fail({ transport: "malformed" });
  // fetch reports a connection dropped while reading the body as a TypeError.
  if (error instanceof TypeError) return fail({ transport: "network" });
  return fail({ message: scrubKey(String(error), ctx.apiKey) });
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
  }));
}

/** `message` with every occurrence of the key replaced. */
export function scrubKey(message: string, apiKey: string): string {
  return apiKey.length >= 8 ? message.split(apiKey).join("[redacted]") : message;
}
