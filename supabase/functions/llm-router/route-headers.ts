/** Response headers that say how a request was served. */
import type { RouteOutcome } from "../_shared/llm/route-types.ts";

/**
 * The route headers of a request that arrived at `started` (`performance.now()`):
 * the overhead is the time not spent waiting on providers or in backoff.
 */
export function routeHeadersSince(route: RouteOutcome, started: number): Record<string, string> {
  return routeHeaders(route, performance.now() - started - route.upstreamMs - route.waitedMs);
}

/** `x-llm-provider`, `x-llm-model`, `x-llm-attempts`, `x-llm-fallback-index`, `x-llm-route`, `x-llm-overhead-ms`. */
export function routeHeaders(route: RouteOutcome, overheadMs: number): Record<string, string> {
  return {
    "x-llm-provider": route.provider,
    "x-llm-model": route.model,
    "x-llm-attempts": String(route.attempts),
    "x-llm-fallback-index": String(route.fallbackIndex),
    "x-llm-route": route.source,
    "x-llm-overhead-ms": overheadMs.toFixed(2),
  };
}
