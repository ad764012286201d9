/**
 * The client's error classes. Every failure a call can have (an error
 * answer, a broken or cut stream, no network, the deadline, the caller's
 * abort) is an `LLMRouterError` with the gateway's stable code, so callers
 * branch on `code`, `status` and `retryable` and never parse prose.
 */

/** What an `LLMRouterError` is built from. */
export interface LLMRouterErrorInit {
  code: string;
  message: string;
  /** The HTTP status of the answer that carried it; 0 when no answer came (network, timeout, abort). */
  status: number;
  retryable?: boolean;
  retryAfterMs?: number;
  requestId?: string;
  /** The rest of the error body (`field`, budget numbers, …). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** A failure reported by the gateway or met on the way to it. */
export class LLMRouterError extends Error {
  /** The gateway's code (`VALIDATION_ERROR`, `RATE_LIMIT_EXCEEDED`, …) or the client's (`NETWORK`, `TIMEOUT`, `ABORTED`). */
  readonly code: string;
  readonly status: number;
  /** Whether the same call may succeed if tried again (as the gateway says). */
  readonly retryable: boolean;
  /** How long the gateway asked to wait before trying again. */
  readonly retryAfterMs?: number;
  /** The gateway's `x-request-id`, for its logs. */
  readonly requestId?: string;
  readonly details: Record<string, unknown>;

  constructor(init: LLMRouterErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "LLMRouterError";
    this.code = init.code;
    this.status = init.status;
    this.retryable = init.retryable ?? false;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    this.details = init.details ?? {};
  }
}

/** The call's deadline (`timeoutMs`) passed before an answer came: code `TIMEOUT`, status 0. */
export class LLMRouterTimeoutError extends LLMRouterError {
  constructor(timeoutMs: number) {
    super({
      code: "TIMEOUT",
      message: `No answer from the gateway within ${timeoutMs} ms`,
      status: 0,
      retryable: true,
      details: { timeoutMs },
    });
    this.name = "LLMRouterTimeoutError";
  }
}

/** The gateway refused the credentials (401) or the caller's rights (403). */
export class LLMRouterAuthError extends LLMRouterError {
  constructor(init: LLMRouterErrorInit) {
    super(init);
    this.name = "LLMRouterAuthError";
  }
}
