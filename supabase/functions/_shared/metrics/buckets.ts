/**
 * Latency histograms with fixed buckets, so counts from many isolates add up
 * field by field; quantiles are read back from the buckets.
 */

/** Upper bounds (ms) of the latency buckets; a last, unbounded bucket follows. */
export const LATENCY_BUCKETS_MS = [
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1_000,
  2_500,
  5_000,
  10_000,
  30_000,
  60_000,
] as const;

/** The index of the bucket `ms` falls in (LATENCY_BUCKETS_MS.length for the unbounded one). */
export function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
    if (ms <= LATENCY_BUCKETS_MS[i]) return i;
  }
  return LATENCY_BUCKETS_MS.length;
}

/**
 * The `q` quantile (0–1) of a histogram given per-bucket counts (not
 * cumulative), interpolated linearly inside its bucket; undefined when empty.
 * Values in the unbounded bucket read as the last bound: a floor, not a guess.
 */
export function quantileFromBuckets(counts: readonly number[], q: number): number | undefined {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0) continue;
    if (seen + counts[i] >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1];
      const upper = LATENCY_BUCKETS_MS[i] ?? LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
      if (i >= LATENCY_BUCKETS_MS.length) return upper;
      return lower + (upper - lower) * ((rank - seen) / counts[i]);
    }
    seen += counts[i];
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1];
}
