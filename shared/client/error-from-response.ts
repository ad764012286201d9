/** Turning an error answer (or a failed fetch) into the client's error classes. */
import type { NativeErrorBody } from "../../supabase/functions/_shared/dialects/native-schema.ts";
import { retryAfterMs } from "../../supabase/functions/_shared/runtime/retry-after.ts";
import { LLMRouterAuthError, LLMRouterError, type LLMRouterErrorInit } from "./errors.ts";
import { errorMessage } from "../../supabase/functions/_shared/runtime/error-message.ts";

/** Statuses a proxy in front of the gateway answers while it is down: worth another try. */
const GATEWAY_DOWN = new Set([502, 503, 504]);

/**
 * The error an unsuccessful `response` reports, from its JSON body
 * (`{error: {code, message, retryable?, retryAfterMs?, …}}`, native or OpenAI
 * shape) and its headers (`Retry-After`, `x-request-id`). Retryable when the
 * body says so, or for a 429/503 with a wait. Consumes the body.
 */
export async function errorFromResponse(response: Response): Promise<LLMRouterError> {
  const headerWait = retryAfterMs(response.headers, Date.now());
  const requestId = response.headers.get("x-request-id") ?? undefined;
  const body = await response.json().catch(() => undefined) as Partial<NativeErrorBody> | undefined;
  const error = body && typeof body.error === "object" && body.error !== null
    ? body.error
    : undefined;
  if (!error || typeof error.code !== "string") {
    return errorOf({
      code: "HTTP_ERROR",
      message: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
      status: response.status,
      // No gateway answered (a proxy or platform page): the gateway may be back soon.
      retryable: GATEWAY_DOWN.has(response.status),
      retryAfterMs: headerWait,
      requestId,
    });
  }
  const { code, message, retryable, retryAfterMs: bodyWait, ...details } = error;
  const wait = headerWait ?? (typeof bodyWait === "number" ? bodyWait : undefined);
  return errorOf({
    code,
    message: typeof message === "string" ? message : code,
    status: response.status,
    // A 429 or 503 that says how long to wait invites the same call after it,
    // whatever the body says of retrying within the gateway.
    retryable: retryable === true ||
      ((response.status === 429 || response.status === 503) && wait !== undefined),
    retryAfterMs: wait,
    requestId,
    details,
  });
}

/** The class for `init.status`: 401 and 403 are `LLMRouterAuthError`. */
function errorOf(init: LLMRouterErrorInit): LLMRouterError {
  return init.status === 401 || init.status === 403
    ? new LLMRouterAuthError(init)
    : new LLMRouterError(init);
}

/** A fetch that threw (no connection, DNS, CORS refusal): `NETWORK`, status 0, retryable. */
export function networkError(cause: unknown): LLMRouterError {
  const reason = errorMessage(cause);
  return new LLMRouterError({
    code: "NETWORK",
    message: `The gateway could not be reached: ${reason}`,
    status: 0,
    retryable: true,
    cause,
  });
}

/** The caller aborted the call: `ABORTED`, status 0, not retryable. */
export function abortedError(cause?: unknown): LLMRouterError {
  return new LLMRouterError({
    code: "ABORTED",
    message: "The call was aborted",
    status: 0,
    cause,
  });
}
