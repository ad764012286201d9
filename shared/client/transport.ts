/**
 * One authenticated call to the gateway: the bearer, a deadline over the
 * whole call (retries and their waits included), the caller's abort, and
 * retries of what the gateway marks retryable, honouring `Retry-After`.
 */
import type { TokenSource } from "./auth.ts";
import { LLMRouterError, LLMRouterTimeoutError } from "./errors.ts";
import { abortedError, errorFromResponse, networkError } from "./error-from-response.ts";
import { retryDelayMs } from "./retry-policy.ts";
import { errorMessage } from "../../supabase/functions/_shared/runtime/error-message.ts";

/** What to send. */
export interface SendInit {
  method: string;
  /** Under the functions base, e.g. `llm-router` or `llm-router/v1/models?x=1`. */
  path: string;
  /** Sent as JSON when present. */
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Retries of this call; the client's setting by default. */
  maxRetries?: number;
  /** Statuses handed to `read` as answers rather than errors (llm-health's 503 report). */
  acceptStatus?: readonly number[];
  /**
   * A stream: the deadline ends with the response headers, and `signal`
   * stays linked to the body so aborting it ends the stream.
   */
  stream?: boolean;
}

/** The client's settings a transport needs. */
export interface TransportOptions {
  url: string;
  tokens: TokenSource;
  timeoutMs: number;
  maxRetries: number;
  fetch: typeof fetch;
}

/** Sends calls for one client. */
export class Transport {
  readonly #options: TransportOptions;
  readonly #base: string;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#base = options.url.replace(/\/+$/, "");
  }

  /**
   * Sends `init` until an answer comes, retries run out or the deadline
   * passes, and returns what `read` makes of the answer (read within the
   * deadline). Every failure is an `LLMRouterError`.
   */
  async send<T>(init: SendInit, read: (response: Response) => Promise<T>): Promise<T> {
    const timeoutMs = init.timeoutMs ?? this.#options.timeoutMs;
    const maxRetries = init.maxRetries ?? this.#options.maxRetries;
    if (init.signal?.aborted) throw abortedError(init.signal.reason);
    const controller = new AbortController();
    let timedOut = false;
    const onAbort = () => controller.abort();
    init.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    const stopped = () =>
      timedOut ? new LLMRouterTimeoutError(timeoutMs) : abortedError(init.signal?.reason);
    let streaming = false;
    try {
      for (let attempt = 0;; attempt++) {
        let failure: LLMRouterError;
        try {
          const response = await this.#fetchOnce(init, controller.signal);
          if (response.ok || init.acceptStatus?.includes(response.status)) {
            const value = await read(response);
            streaming = init.stream === true;
            return value;
          }
          failure = await errorFromResponse(response);
        } catch (error) {
          if (controller.signal.aborted) throw stopped();
          if (error instanceof LLMRouterError) throw error;
          failure = networkError(error);
        }
        if (controller.signal.aborted) throw stopped();
        const wait = retryDelayMs(failure, attempt, maxRetries);
        // A wait that would outlast the deadline only delays the same outcome.
        if (wait === undefined || Date.now() + wait >= deadline) throw failure;
        await sleep(wait, controller.signal).catch(() => {
          throw stopped();
        });
      }
    } finally {
      clearTimeout(timer);
      if (!streaming) init.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #fetchOnce(init: SendInit, signal: AbortSignal): Promise<Response> {
    let token: string | undefined;
    try {
      token = await this.#options.tokens();
    } catch (error) {
      throw new LLMRouterError({
        code: "AUTH_UNAVAILABLE",
        message: `The access token could not be read: ${errorMessage(error)}`,
        status: 0,
        cause: error,
      });
    }
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    if (init.stream) headers.accept = "text/event-stream";
    return await this.#options.fetch(`${this.#base}/${init.path.replace(/^\/+/, "")}`, {
      method: init.method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal,
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Reads a JSON answer; a body that is not JSON is `INVALID_RESPONSE`. */
export async function readJson<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new LLMRouterError({
      code: "INVALID_RESPONSE",
      message: `The gateway's answer is not JSON (HTTP ${response.status})`,
      status: response.status,
      requestId: response.headers.get("x-request-id") ?? undefined,
      cause,
    });
  }
}
