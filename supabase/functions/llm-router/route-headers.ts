/** Response headers that say how a request was served. */
import type { RouteOutcome } from "../_shared/llm/route-types.ts";
import { skipCode, skippedName } from "../_shared/llm/skip-reason.ts";

/**
 * The longest `x-llm-warnings` or `x-llm-skipped` value: proxies limit a
 * response's headers as a whole (often to 8 KB), and a long fallback chain
 * must not push the answer over it.
 */
export const MAX_LIST_HEADER_CHARS = 1_024;

/**
 * The route headers of a request that arrived at `started` (`performance.now()`):
 * the overhead is the time not spent waiting on providers or in backoff.
 */
export function routeHeadersSince(route: RouteOutcome, started: number): Record<string, string> {
  return routeHeaders(route, performance.now() - started - route.upstreamMs - route.waitedMs);
}

/**
 * `x-llm-provider`, `x-llm-model`, `x-llm-attempts`, `x-llm-fallback-index`,
 * `x-llm-route`, `x-llm-overhead-ms`; `x-llm-deployment` when the model has
 * deployments; `x-llm-warnings` (what the serving model did not do as asked,
 * `; `-separated) and `x-llm-skipped` (candidates left out before it,
 * `model=reason` or `model@deployment=reason`, `, `-separated) when there are any.
 */
export function routeHeaders(route: RouteOutcome, overheadMs: number): Record<string, string> {
  const headers: Record<string, string> = {
    "x-llm-provider": route.provider,
    "x-llm-model": route.model,
    "x-llm-attempts": String(route.attempts),
    "x-llm-fallback-index": String(route.fallbackIndex),
    "x-llm-route": route.source,
    "x-llm-overhead-ms": overheadMs.toFixed(2),
  };
  if (route.deployment !== undefined) headers["x-llm-deployment"] = route.deployment;
  if (route.warnings?.length) headers["x-llm-warnings"] = boundedList(route.warnings, "; ");
  if (route.skipped?.length) {
    headers["x-llm-skipped"] = boundedList(
      route.skipped.map((s) => `${skippedName(s)}=${skipCode(s.reason)}`),
      ", ",
    );
  }
  return headers;
}

/**
 * `items` joined by `separator`, printable ASCII only (a header value must
 * be), cut at whole items to `MAX_LIST_HEADER_CHARS` with `+N more` at the end.
 */
function boundedList(items: readonly string[], separator: string): string {
  const safe = items.map((item) => item.replace(/[^\x20-\x7e]/g, "?"));
  const whole = safe.join(separator);
  if (whole.length <= MAX_LIST_HEADER_CHARS) return whole;
  // Room for the longest suffix there can be.
  const room = MAX_LIST_HEADER_CHARS - `${separator}+${safe.length} more`.length;
  const kept: string[] = [];
  let length = 0;
  for (const item of safe) {
    const added = (kept.length > 0 ? separator.length : 0) + item.length;
    if (length + added > room) break;
    kept.push(item);
    length += added;
  }
  return [...kept, `+${safe.length - kept.length} more`].join(separator);
}
