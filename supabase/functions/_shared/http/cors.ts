/**
 * CORS for browser callers. Applied to every response, errors included, so a
 * browser shows the real 401/400 instead of an opaque CORS failure.
 */

/** Which origins may call: `"*"` or an explicit allow-list. */
export interface CorsPolicy {
  allowedOrigins: "*" | readonly string[];
}

/** Headers supabase-js sends, Anthropic's SDKs' key and version, plus ours. */
const ALLOWED_HEADERS =
  "authorization, x-client-info, apikey, content-type, x-request-id, x-api-key, anthropic-version";
const ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
/**
 * Headers a browser script may read from our responses: the client SDK reads
 * how a request was served and the caller's rate-limit bucket from them.
 */
const EXPOSED_HEADERS = [
  "x-request-id",
  "x-llm-path",
  "x-llm-provider",
  "x-llm-model",
  "x-llm-deployment",
  "x-llm-attempts",
  "x-llm-fallback-index",
  "x-llm-route",
  "x-llm-cache",
  "x-llm-overhead-ms",
  "x-llm-warnings",
  "x-llm-skipped",
  "retry-after",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
].join(", ");

/** Parses `CORS_ALLOWED_ORIGINS` (comma-separated; empty or `*` means any origin). */
export function corsPolicyFrom(value: string | undefined): CorsPolicy {
  const trimmed = (value ?? "").trim();
  if (trimmed === "" || trimmed === "*") return { allowedOrigins: "*" };
  return {
    allowedOrigins: trimmed.split(",").map((origin) => origin.trim()).filter(Boolean),
  };
}

/** The CORS headers for a response to `request` under `policy`. */
export function corsHeaders(request: Request, policy: CorsPolicy): Record<string, string> {
  const headers: Record<string, string> = {
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-allow-methods": ALLOWED_METHODS,
    "access-control-expose-headers": EXPOSED_HEADERS,
    "access-control-max-age": "86400",
  };
  if (policy.allowedOrigins === "*") {
    headers["access-control-allow-origin"] = "*";
    return headers;
  }
  // With an allow-list the answer depends on the Origin, so caches must key on it.
  headers["vary"] = "Origin";
  const origin = request.headers.get("origin");
  if (origin && policy.allowedOrigins.includes(origin)) {
    headers["access-control-allow-origin"] = origin;
  }
  return headers;
}

/** The 204 answer to an OPTIONS preflight. */
export function preflightResponse(request: Request, policy: CorsPolicy): Response {
  return new Response(null, { status: 204, headers: corsHeaders(request, policy) });
}

/** Returns `response` with `extra` headers added (copying it when its headers are immutable). */
export function withHeaders(response: Response, extra: Record<string, string>): Response {
  try {
    for (const name in extra) response.headers.set(name, extra[name]);
    return response;
  } catch {
    const headers = new Headers(response.headers);
    for (const name in extra) headers.set(name, extra[name]);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }
}
