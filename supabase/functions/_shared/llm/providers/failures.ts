/**
 * How a provider call fails, for both wire protocols: aborts are classified
 * from the signal's reason before anything else (once the router aborted,
 * whatever broke broke because of it), transport failures by what `fetch`
 * and the body reader throw, HTTP answers by status, headers and error body,
 * and the adapter's key is scrubbed from any provider message in every form
 * it may be echoed in. Each protocol supplies only how its error body reads.
 */
import { classifyProviderFailure, LLMError, type ProviderFailure } from "../errors.ts";
import { SecretScrubber } from "../../runtime/secret-scrubber.ts";

/** What a protocol's error body (or a stream's error event) says. */
export interface ProviderErrorBody {
  message?: string;
  /** The provider's error code or type (`rate_limit_exceeded`, `overloaded_error` …). */
  providerCode?: string;
  /** The HTTP status an error event inside a 200 stream stands for. */
  status?: number;
}

/** Reads a protocol's parsed error body; `undefined` fields when it says nothing. */
export type ErrorBodyReader = (body: unknown) => ProviderErrorBody;

/** Classifies one adapter's failures; built once per adapter. */
export class ProviderFailures {
  readonly #provider: string;
  readonly #now: () => number;
  /**
   * The adapter's key, removed from provider messages raw, URL-encoded,
   * JSON-escaped, base64'd or masked: a custom provider's key may match no
   * redaction pattern, and an echo may be transformed. Compiled on first use.
   */
  readonly #secrets: SecretScrubber;
  readonly #read: ErrorBodyReader;

  constructor(provider: string, apiKey: string, now: () => number, read: ErrorBodyReader) {
    this.#provider = provider;
    this.#now = now;
    this.#secrets = new SecretScrubber([apiKey]);
    this.#read = read;
  }

  /** The `LLMError` for anything thrown while sending a request or reading its answer. */
  thrown(error: unknown, model: string, signal: AbortSignal): LLMError {
    if (signal.aborted) return this.#aborted(model, signal);
    if (error instanceof LLMError) return error;
    if (error instanceof SyntaxError) return this.#fail({ transport: "malformed" }, model);
    // fetch reports an unreachable host, and a connection dropped while reading the body, as a TypeError.
    if (error instanceof TypeError) return this.#fail({ transport: "network" }, model);
    if (error instanceof DOMException && error.name === "TimeoutError") {
      return this.#fail({ transport: "timeout" }, model);
    }
    if (error instanceof DOMException && error.name === "AbortError") {
      return this.#fail({ transport: "aborted" }, model);
    }
    return this.#fail({ message: String(error) }, model);
  }

  /** The `LLMError` for a non-2xx answer, read from its status, headers and body. */
  async status(response: Response, model: string, signal: AbortSignal): Promise<LLMError> {
    // A body that cannot be read still has a status to classify by.
    const text = await response.text().catch(() => "");
    const said = this.#read(parseJson(text));
    return this.#classify(
      {
        status: response.status,
        message: said.message ?? (text || undefined),
        providerCode: said.providerCode,
        headers: response.headers,
      },
      model,
      signal,
    );
  }

  /** The `LLMError` for an error event inside a 200 stream, as retryable as the status it stands for. */
  event(body: unknown, headers: Headers, model: string, signal: AbortSignal): LLMError {
    const said = this.#read(body);
    return this.#classify(
      {
        status: said.status ?? 500,
        message: said.message,
        providerCode: said.providerCode,
        headers,
      },
      model,
      signal,
    );
  }

  /**
   * The `LLMError` for an answer that arrived but is unusable (a body without
   * choices, a stream that ended before the model finished), unless an abort explains it.
   */
  malformed(what: string, model: string, signal: AbortSignal): LLMError {
    return this.#classify({ transport: "malformed", message: what }, model, signal);
  }

  #classify(failure: Partial<ProviderFailure>, model: string, signal: AbortSignal): LLMError {
    return signal.aborted ? this.#aborted(model, signal) : this.#fail(failure, model);
  }

  #aborted(model: string, signal: AbortSignal): LLMError {
    const reason: unknown = signal.reason;
    const timedOut = reason instanceof DOMException && reason.name === "TimeoutError";
    return this.#fail({ transport: timedOut ? "timeout" : "aborted" }, model);
  }

  #fail(failure: Partial<ProviderFailure>, model: string): LLMError {
    return classifyProviderFailure({
      ...failure,
      provider: this.#provider,
      model,
      nowMs: this.#now(),
      secrets: this.#secrets,
    });
  }
}

/** `text` parsed as JSON, or undefined when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `value` as message text: strings as they are, numbers spelled out, anything else absent. */
export function textOf(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}
