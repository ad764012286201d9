/**
 * Reading the totals every isolate flushed, and starting them over: what
 * llm-metrics serves, whichever isolate serves it.
 */
import type { StateStore } from "../store/state-store.ts";
import { READ_FIELDS } from "./hash-ops.ts";
import { METRICS_KEYS, METRICS_TTL_MS } from "./recorder.ts";
import { labelsFromKey, type SeriesLabels } from "./sample.ts";

/** One series' counters. */
export interface SeriesTotals {
  labels: SeriesLabels;
  counts: Record<string, number>;
}

/** Everything counted since `startedAt`. */
export interface MetricsSnapshot {
  series: SeriesTotals[];
  /** ISO time counting started; undefined before the first flush. */
  startedAt?: string;
}

/** Reads every series (the reads go out together: one pipelined round trip on Redis). */
export async function readMetrics(store: StateStore): Promise<MetricsSnapshot> {
  const [index, startedAt] = await Promise.all([
    store.run(READ_FIELDS, METRICS_KEYS.index, []),
    store.get<string>(METRICS_KEYS.started),
  ]);
  const keys = Object.keys(index).sort();
  const counts = await Promise.all(
    keys.map((key) => store.run(READ_FIELDS, METRICS_KEYS.series(key), [])),
  );
  return {
    series: keys.map((key, i) => ({ labels: labelsFromKey(key), counts: counts[i] }))
      .filter((series) => (series.counts.requests ?? 0) > 0),
    startedAt,
  };
}

/** Drops every counter and starts counting again at `now`. */
export async function resetMetrics(store: StateStore, now: number): Promise<void> {
  const index = await store.run(READ_FIELDS, METRICS_KEYS.index, []);
  await store.delete(
    METRICS_KEYS.index,
    ...Object.keys(index).map((key) => METRICS_KEYS.series(key)),
  );
  await store.set(METRICS_KEYS.started, new Date(now).toISOString(), METRICS_TTL_MS);
}
