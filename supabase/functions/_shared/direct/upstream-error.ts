/**
 * Classifying what went wrong talking to OpenAI into the status and code the
 * caller sees, and whether another attempt could succeed.
 */
import { HttpError } from "../http/errors.ts";
import { redactSecrets } from "../runtime/redact.ts";
import type { SecretScrubber } from "../runtime/secret-scrubber.ts";
import { retryAfterMs } from "../runtime/retry-after.ts";

/** A failed upstream attempt, already mapped to our response. */
export class UpstreamError extends HttpError {
  /** Upstream calls made before giving up (set when the last one failed). */
  attempts = 1;

  constructor(
    status: number,
    code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(
      status,
      code,
      message,
      { retryable },
      retryAfterMs === undefined ? {} : { "retry-after": String(Math.ceil(retryAfterMs / 1000)) },
    );
    this.name = "UpstreamError";
  }
}

/**
 * Reads the error body of a non-2xx upstream response and classifies it.
 * `secrets` (the key sent upstream) are scrubbed from the provider's message
 * in every encoding before the patterns run.
 */
export async function upstreamErrorFromResponse(
  response: Response,
  nowMs: number,
  secrets?: SecretScrubber,
): Promise<UpstreamError> {
  const raw = await response.text().catch(() => "");
  let providerMessage = "";
  let providerCode = "";
  try {
    const body = JSON.parse(raw);
    providerMessage = String(body?.error?.message ?? "");
    providerCode = String(body?.error?.code ?? body?.error?.type ?? "");
  } catch {
    providerMessage = raw;
  }
  const detail = redactSecrets(secrets ? secrets.scrub(providerMessage) : providerMessage)
    .slice(0, 300);
  const status = response.status;
  const say = (what: string) => detail ? `${what}: ${detail}` : what;

  if (
    status === 400 && /context_length|maximum context/i.test(`${providerCode} ${providerMessage}`)
  ) {
    return new UpstreamError(
      400,
      "TOKEN_LIMIT_EXCEEDED",
      say("Conversation is too long for the model"),
      false,
    );
  }
  if (status === 401 || status === 403) {
    // The platform's key is wrong: a server fault, so not a 401 the browser would treat as a logout.
    return new UpstreamError(
      502,
      "INVALID_API_KEY",
      "The AI provider rejected the server's API key",
      false,
    );
  }
  if (status === 429) {
    if (/insufficient_quota/i.test(providerCode)) {
      return new UpstreamError(
        503,
        "PROVIDER_QUOTA_EXCEEDED",
        say("The AI provider quota is exhausted"),
        false,
      );
    }
    return new UpstreamError(
      429,
      "RATE_LIMIT",
      say("The AI provider is rate limiting"),
      true,
      retryAfterMs(response.headers, nowMs) ?? 1_000,
    );
  }
  if (status === 408) {
    return new UpstreamError(504, "TIMEOUT", say("The AI provider timed out"), true);
  }
  if (status === 409 || status >= 500) {
    return new UpstreamError(
      502,
      "PROVIDER_ERROR",
      say(`The AI provider failed with ${status}`),
      true,
    );
  }
  return new UpstreamError(
    502,
    "PROVIDER_ERROR",
    say(`The AI provider rejected the request with ${status}`),
    false,
  );
}

/**
 * Reads an llm-router error (OpenAI-shaped, carrying our own code) and keeps
 * its status, code and retryability: the router already classified it.
 */
export async function routerErrorFromResponse(
  response: Response,
  nowMs: number,
): Promise<UpstreamError> {
  const raw = await response.text().catch(() => "");
  let error: { code?: unknown; message?: unknown; retryable?: unknown } = {};
  try {
    error = JSON.parse(raw)?.error ?? {};
  } catch {
    // Not the router's JSON (a proxy page?): classify by status below.
  }
  const code = typeof error.code === "string"
    ? error.code
    : response.status >= 500
    ? "PROVIDER_ERROR"
    : "ROUTER_ERROR";
  const message = redactSecrets(String(error.message ?? `llm-router answered ${response.status}`))
    .slice(0, 300);
  return new UpstreamError(
    response.status,
    code,
    message,
    error.retryable === true,
    response.status === 429 ? retryAfterMs(response.headers, nowMs) : undefined,
  );
}

/** Classifies a thrown fetch failure: our timeout, or the network. */
export function upstreamErrorFromThrown(error: unknown, timedOut: boolean): UpstreamError {
  if (timedOut) {
    return new UpstreamError(504, "TIMEOUT", "The AI provider did not answer in time", true);
  }
  const message = error instanceof Error ? redactSecrets(error.message).slice(0, 200) : "unknown";
  return new UpstreamError(503, "NETWORK", `Could not reach the AI provider (${message})`, true);
}
