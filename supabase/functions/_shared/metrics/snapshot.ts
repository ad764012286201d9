/**
 * Reading the totals every isolate flushed, and starting them over: what
 * llm-metrics serves, whichever isolate serves it. A snapshot is of one
 * scope: the platform (every request, plus the platform's own counters) or
 * one account (its requests only).
 */
import type { StateStore } from "../store/state-store.ts";
import { READ_FIELDS } from "./hash-ops.ts";
import {
  COUNTED_QUEUES,
  type CountedQueue,
  keyScope,
  METRICS_KEYS,
  METRICS_TTL_MS,
  scopeKeys,
  setAsideField,
} from "./keys.ts";
import { labelsFromKey, type SeriesLabels } from "./sample.ts";

/** One series' counters. */
export interface SeriesTotals {
  labels: SeriesLabels;
  counts: Record<string, number>;
}

/** What the background queues set aside (rows the database refused). */
export type QueueTotals = Record<CountedQueue, { setAside: number }>;

/** Everything counted since `startedAt`. */
export interface MetricsSnapshot {
  /** The account this snapshot is of; undefined for the platform. */
  accountId?: string;
  /** The account's gateway key this snapshot is of; undefined: the whole account (or platform). */
  keyId?: string;
  series: SeriesTotals[];
  /** ISO time counting started; undefined before the first flush. */
  startedAt?: string;
  /** Platform snapshots only: the queues are the platform's, not a tenant's. */
  queues?: QueueTotals;
}

/**
 * Reads every series of the platform (`accountId` undefined), of one
 * account, or of one of its gateway keys (`keyId`). The reads go out
 * together: one pipelined round trip on Redis.
 */
export async function readMetrics(
  store: StateStore,
  accountId?: string,
  keyId?: string,
): Promise<MetricsSnapshot> {
  const keys = scopeKeys(
    accountId !== undefined && keyId !== undefined ? keyScope(accountId, keyId) : accountId,
  );
  const [index, startedAt, queueFields] = await Promise.all([
    store.run(READ_FIELDS, keys.index, []),
    store.get<string>(keys.started),
    accountId === undefined ? store.run(READ_FIELDS, METRICS_KEYS.queues, []) : undefined,
  ]);
  const seriesKeys = Object.keys(index).sort();
  const counts = await Promise.all(
    seriesKeys.map((key) => store.run(READ_FIELDS, keys.series(key), [])),
  );
  return {
    ...(accountId !== undefined ? { accountId } : {}),
    ...(accountId !== undefined && keyId !== undefined ? { keyId } : {}),
    series: seriesKeys.map((key, i) => ({ labels: labelsFromKey(key), counts: counts[i] }))
      .filter((series) => (series.counts.requests ?? 0) > 0),
    startedAt,
    ...(queueFields
      ? {
        queues: Object.fromEntries(
          COUNTED_QUEUES.map((queue) => [queue, {
            setAside: queueFields[setAsideField(queue)] ?? 0,
          }]),
        ) as QueueTotals,
      }
      : {}),
  };
}

/** Drops every counter, the platform's and every account's, and starts counting again at `now`. */
export async function resetMetrics(store: StateStore, now: number): Promise<void> {
  const accounts = Object.keys(await store.run(READ_FIELDS, METRICS_KEYS.accounts, []));
  const scopes = [undefined, ...accounts].map(scopeKeys);
  const indexes = await Promise.all(scopes.map((keys) => store.run(READ_FIELDS, keys.index, [])));
  await store.delete(
    METRICS_KEYS.accounts,
    METRICS_KEYS.queues,
    ...scopes.flatMap((keys, i) => [
      keys.index,
      ...Object.keys(indexes[i]).map((key) => keys.series(key)),
      ...(keys === METRICS_KEYS ? [] : [keys.started]),
    ]),
  );
  await store.set(METRICS_KEYS.started, new Date(now).toISOString(), METRICS_TTL_MS);
}
