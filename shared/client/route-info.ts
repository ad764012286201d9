/** How a request was served, read from the gateway's response headers. */
import type { RateLimitInfo, RouteInfo } from "./types.ts";

/**
 * The `x-llm-*`, `x-request-id` and `x-ratelimit-*-requests` headers as a
 * `RouteInfo`; absent or unreadable headers leave their field out (a browser
 * sees only the headers CORS exposes).
 */
export function routeFromHeaders(headers: Headers): RouteInfo {
  const route: RouteInfo = {};
  const text = (name: string) => headers.get(name) ?? undefined;
  const number = (name: string) => {
    const value = headers.get(name);
    return value === null || value.trim() === "" || !Number.isFinite(Number(value))
      ? undefined
      : Number(value);
  };
  const fields: [keyof RouteInfo, string | number | undefined][] = [
    ["provider", text("x-llm-provider")],
    ["model", text("x-llm-model")],
    ["deployment", text("x-llm-deployment")],
    ["attempts", number("x-llm-attempts")],
    ["fallbackIndex", number("x-llm-fallback-index")],
    ["source", text("x-llm-route")],
    ["cache", text("x-llm-cache")],
    ["overheadMs", number("x-llm-overhead-ms")],
    ["requestId", text("x-request-id")],
  ];
  for (const [field, value] of fields) {
    if (value !== undefined) (route as Record<string, unknown>)[field] = value;
  }
  const rateLimit = rateLimitFromHeaders(headers);
  if (rateLimit) route.rateLimit = rateLimit;
  return route;
}

/** The request bucket from OpenAI's header names, when all three are there. */
function rateLimitFromHeaders(headers: Headers): RateLimitInfo | undefined {
  const limit = Number(headers.get("x-ratelimit-limit-requests") ?? NaN);
  const remaining = Number(headers.get("x-ratelimit-remaining-requests") ?? NaN);
  const resetMs = durationMs(headers.get("x-ratelimit-reset-requests") ?? "");
  if (!Number.isFinite(limit) || !Number.isFinite(remaining) || resetMs === undefined) {
    return undefined;
  }
  return { limit, remaining, resetMs };
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** A duration as OpenAI writes it (`1s`, `120ms`, `6m0s`, `1h2m3.5s`) in milliseconds; a bare number is seconds. */
export function durationMs(value: string): number | undefined {
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1_000;
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, , unit] of trimmed.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return Math.round(total);
}
