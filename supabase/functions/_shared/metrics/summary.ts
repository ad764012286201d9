/**
 * Derived figures from raw counters: rates, averages and quantiles. The same
 * summary serves a series, a provider (its series added up) and the total.
 */
import { LATENCY_BUCKETS_MS, quantileFromBuckets } from "./buckets.ts";
import { UNITS } from "./sample.ts";

/** What an operator reads about a set of requests. */
export interface MetricsSummary {
  requests: number;
  successes: number;
  failures: number;
  aborted: number;
  successRate: number;
  avgLatency: number;
  p50Latency: number;
  p95Latency: number;
  p99Latency: number;
  avgTimeToFirstToken: number | null;
  p95TimeToFirstToken: number | null;
  avgOverhead: number | null;
  p95Overhead: number | null;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Of `outputTokens`, those spent reasoning. */
  reasoningTokens: number;
  totalTokens: number;
  totalCost: number;
  avgCost: number;
  retries: number;
  fallbacks: number;
  fallbackRate: number;
  cacheHits: number;
  cacheHitRate: number;
  rejections: { rateLimit: number; budget: number };
  /** Failures by error code. */
  errors: Record<string, number>;
}

/** Adds counters field by field. */
export function addCounts(all: readonly Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counts of all) {
    for (const [field, value] of Object.entries(counts)) sum[field] = (sum[field] ?? 0) + value;
  }
  return sum;
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

/** The per-bucket counts of histogram `prefix` (`lat`, `ttft`, `ovh`). */
export function bucketCounts(counts: Record<string, number>, prefix: string): number[] {
  return Array.from(
    { length: LATENCY_BUCKETS_MS.length + 1 },
    (_, i) => counts[`${prefix}:${i}`] ?? 0,
  );
}

/** The summary of `counts`. */
export function summarize(counts: Record<string, number>): MetricsSummary {
  const n = (field: string) => counts[field] ?? 0;
  const requests = n("requests");
  const per = (value: number) => (requests > 0 ? value / requests : 0);
  const quantile = (prefix: string, q: number) => {
    const value = quantileFromBuckets(bucketCounts(counts, prefix), q);
    return value === undefined ? null : round(value);
  };
  const errors: Record<string, number> = {};
  for (const [field, value] of Object.entries(counts)) {
    if (field.startsWith("err:") && value > 0) errors[field.slice(4)] = value;
  }
  const inputTokens = n("tok_in");
  const outputTokens = n("tok_out");
  const cost = UNITS.usd(n("cost_nano"));
  return {
    requests,
    successes: n("ok"),
    failures: n("error"),
    aborted: n("aborted"),
    successRate: round(per(n("ok")), 4),
    avgLatency: round(UNITS.ms(per(n("lat_sum_us")))),
    p50Latency: quantile("lat", 0.5) ?? 0,
    p95Latency: quantile("lat", 0.95) ?? 0,
    p99Latency: quantile("lat", 0.99) ?? 0,
    avgTimeToFirstToken: n("ttft_count") > 0
      ? round(UNITS.ms(n("ttft_sum_us") / n("ttft_count")))
      : null,
    p95TimeToFirstToken: quantile("ttft", 0.95),
    avgOverhead: n("ovh_count") > 0 ? round(UNITS.ms(n("ovh_sum_us") / n("ovh_count"))) : null,
    p95Overhead: quantile("ovh", 0.95),
    inputTokens,
    outputTokens,
    cachedInputTokens: n("tok_cached"),
    reasoningTokens: n("tok_reasoning"),
    totalTokens: inputTokens + outputTokens,
    totalCost: round(cost, 9),
    avgCost: round(per(cost), 9),
    retries: n("retries"),
    fallbacks: n("fallbacks"),
    fallbackRate: round(per(n("fallbacks")), 4),
    cacheHits: n("cache_hits"),
    cacheHitRate: round(per(n("cache_hits")), 4),
    rejections: { rateLimit: n("rej:rate_limit"), budget: n("rej:budget") },
    errors,
  };
}
