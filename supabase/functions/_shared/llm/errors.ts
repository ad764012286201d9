/**
 * The LLMError family: every failure the router reports carries a stable
 * code, the HTTP status the caller gets, and whether trying again (here or on
 * another target) can help. Provider errors are classified from their status
 * and body; every message is sanitized before it can leave the process.
 */
import { redactSecrets } from "../runtime/redact.ts";
import type { SecretScrubber } from "../runtime/secret-scrubber.ts";
import { retryAfterMs } from "../runtime/retry-after.ts";
import { errorMessage } from "../runtime/error-message.ts";

/** Every code the router reports, with its HTTP status. */
export const LLM_ERROR_STATUS = {
  PROVIDER_ERROR: 502,
  RATE_LIMIT: 429,
  INVALID_API_KEY: 502,
  TOKEN_LIMIT_EXCEEDED: 400,
  CIRCUIT_BREAKER_OPEN: 503,
  MAX_RETRIES_EXCEEDED: 502,
  TIMEOUT: 504,
  NETWORK: 503,
  VALIDATION_ERROR: 400,
  PAYMENT_REQUIRED: 402,
  /** Every candidate is priced above the request's price ceiling: nothing was called. */
  PRICE_CEILING_EXCEEDED: 422,
  /** A gateway key's allowance leaves out the model (or every candidate): nothing was called. */
  MODEL_NOT_ALLOWED: 403,
  RATE_LIMIT_EXCEEDED: 429,
  NO_PROVIDER: 503,
  GUARD_UNAVAILABLE: 503,
  ABORTED: 499,
} as const;

/** A router error code. */
export type LLMErrorCode = keyof typeof LLM_ERROR_STATUS;

/** Options of an `LLMError`. */
export interface LLMErrorOptions {
  retryable?: boolean;
  /** Whether another target may succeed where this one failed (default: `retryable`). */
  fallback?: boolean;
  provider?: string;
  model?: string;
  /** The provider's HTTP status, when there was one. */
  upstreamStatus?: number;
  retryAfterMs?: number;
  /** Extra, non-secret fields for the error body. */
  details?: Record<string, string | number | boolean | null>;
}

/** A classified failure. Its message is already sanitized. */
export class LLMError extends Error {
  readonly code: LLMErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly fallback: boolean;
  readonly provider?: string;
  readonly model?: string;
  readonly upstreamStatus?: number;
  readonly retryAfterMs?: number;
  readonly details: Record<string, string | number | boolean | null>;

  constructor(code: LLMErrorCode, message: string, options: LLMErrorOptions = {}) {
    super(redactSecrets(message).slice(0, 500));
    this.name = "LLMError";
    this.code = code;
    this.status = LLM_ERROR_STATUS[code];
    this.retryable = options.retryable ?? false;
    this.fallback = options.fallback ?? this.retryable;
    this.provider = options.provider;
    this.model = options.model;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }

  /** The JSON body callers get: `{code, message, retryable, ...details}`. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.provider ? { provider: this.provider } : {}),
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
      ...this.details,
    };
  }
}

/** What a provider adapter knows about a failed call. */
export interface ProviderFailure {
  provider: string;
  model: string;
  /** HTTP status, if the provider answered. */
  status?: number;
  /** The provider's error message/body text. */
  message?: string;
  /** The provider's error code or type (`rate_limit_exceeded`, `overloaded_error` …). */
  providerCode?: string;
  headers?: Headers;
  /** How the call failed when there was no HTTP answer. */
  transport?: "timeout" | "network" | "aborted" | "malformed";
  nowMs: number;
  /**
   * The secrets the caller knows (the adapter's own key): removed from
   * `message` in every encoding before the patterns run, since a key with an
   * unknown prefix, or echoed URL-encoded or base64'd, matches no pattern.
   */
  secrets?: SecretScrubber;
}

const CONTEXT_LENGTH =
  /context.length|context window|maximum context|prompt is too long|too many tokens|max_tokens.*exceed|input.*too long|reduce the length/i;

/** Classifies a provider failure into an `LLMError`. */
export function classifyProviderFailure(failure: ProviderFailure): LLMError {
  const { provider, model, status } = failure;
  const message = failure.message ?? "";
  const detail = redactSecrets(failure.secrets ? failure.secrets.scrub(message) : message)
    .slice(0, 300);
  const base = { provider, model, upstreamStatus: status };
  const say = (what: string) => `${provider}/${model}: ${what}${detail ? `: ${detail}` : ""}`;

  switch (failure.transport) {
    case "aborted":
      return new LLMError("ABORTED", `${provider}/${model}: the caller went away`, {
        ...base,
        fallback: false,
      });
    case "timeout":
      return new LLMError("TIMEOUT", say("no answer in time"), { ...base, retryable: true });
    case "network":
      return new LLMError("NETWORK", say("could not reach the provider"), {
        ...base,
        retryable: true,
      });
    case "malformed":
      return new LLMError("PROVIDER_ERROR", say("unreadable answer"), { ...base, retryable: true });
  }
  const code = `${failure.providerCode ?? ""} ${failure.message ?? ""}`;
  if (status === 400 || status === 413 || status === 422) {
    if (status === 413 || CONTEXT_LENGTH.test(code)) {
      // Another target with a larger window may take it.
      return new LLMError(
        "TOKEN_LIMIT_EXCEEDED",
        say("the request does not fit the model's context window"),
        {
          ...base,
          fallback: true,
        },
      );
    }
    // We validated the request; a provider-specific rejection may pass elsewhere.
    return new LLMError("PROVIDER_ERROR", say(`rejected the request (${status})`), {
      ...base,
      fallback: true,
    });
  }
  if (status === 401 || status === 403) {
    // The provider refused our key: a server fault (502), not the caller's credentials (401).
    return new LLMError(
      "INVALID_API_KEY",
      `${provider}/${model}: the provider rejected the API key`,
      {
        ...base,
        fallback: true,
      },
    );
  }
  if (status === 402 || (status === 429 && /insufficient_quota|billing|credit/i.test(code))) {
    return new LLMError("PROVIDER_ERROR", say("the provider account is out of quota"), {
      ...base,
      fallback: true,
    });
  }
  if (status === 429) {
    return new LLMError("RATE_LIMIT", say("rate limited by the provider"), {
      ...base,
      retryable: true,
      retryAfterMs: retryAfterMs(failure.headers, failure.nowMs),
    });
  }
  if (status === 404) {
    return new LLMError("PROVIDER_ERROR", say("model or endpoint not found"), {
      ...base,
      fallback: true,
    });
  }
  if (status === 408) {
    return new LLMError("TIMEOUT", say("the provider timed out"), { ...base, retryable: true });
  }
  if (status !== undefined && (status === 409 || status >= 500)) {
    return new LLMError("PROVIDER_ERROR", say(`provider failed with ${status}`), {
      ...base,
      retryable: true,
      retryAfterMs: retryAfterMs(failure.headers, failure.nowMs),
    });
  }
  return new LLMError("PROVIDER_ERROR", say(`unexpected answer ${status ?? "(none)"}`), {
    ...base,
    fallback: true,
  });
}

/** An `LLMError` from anything thrown, keeping an `LLMError` as it is. */
export function asLLMError(
  error: unknown,
  context: { provider?: string; model?: string } = {},
): LLMError {
  if (error instanceof LLMError) return error;
  const message = errorMessage(error);
  return new LLMError("PROVIDER_ERROR", message, { ...context, retryable: false, fallback: false });
}
