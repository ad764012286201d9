/**
 * Request metrics, recorded off the hot path: `record` only adds to this
 * isolate's pending counts; they are added to the StateStore in batches (one
 * atomic add per series), so llm-metrics reads the same totals whichever
 * isolate serves it, and a request never waits on a metrics write.
 */
import type { StateStore } from "../store/state-store.ts";
import { type QueueTimers, unrefTimers } from "../http/background-timers.ts";
import { ADD_TO_FIELDS } from "./hash-ops.ts";
import {
  fieldsOf,
  labelsOf,
  type LabelVocabulary,
  type RequestSample,
  seriesKey,
} from "./sample.ts";

/** Where metrics live in the store. */
export const METRICS_KEYS = {
  /** Hash: series key → flushes seen (the list of series). */
  index: "metrics:index",
  /** Hash of one series' counters. */
  series: (key: string) => `metrics:series:${key}`,
  /** When counting started (set on the first flush, and by a reset). */
  started: "metrics:started",
};

/** Counters outlive any scrape interval by far, yet do not stay forever once nothing writes. */
export const METRICS_TTL_MS = 30 * 86_400_000;

/** How a recorder batches. */
export interface MetricsRecorderOptions {
  /** Requests after which pending counts are written at once (default 50). */
  batchSize?: number;
  /** Longest a recorded request waits to be written (default 1000 ms). */
  flushIntervalMs?: number;
  /** Keeps a flush alive after the response (EdgeRuntime.waitUntil). */
  waitUntil?: (work: Promise<unknown>) => void;
  onWriteError?: (error: unknown) => void;
  timers?: QueueTimers;
  now?: () => number;
}

/** Records request samples and flushes them to a store. */
export class MetricsRecorder {
  #pending = new Map<string, Record<string, number>>();
  #pendingRequests = 0;
  #lastFlush: number;
  #timer: unknown;
  #flushing: Promise<void> | undefined;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #timers: QueueTimers;
  readonly #now: () => number;

  constructor(
    private readonly store: StateStore,
    private readonly vocabulary: LabelVocabulary,
    private readonly options: MetricsRecorderOptions = {},
  ) {
    this.#batchSize = options.batchSize ?? 50;
    this.#intervalMs = options.flushIntervalMs ?? 1_000;
    this.#timers = options.timers ?? unrefTimers;
    this.#now = options.now ?? Date.now;
    this.#lastFlush = this.#now();
  }

  /** Adds one request; never waits and never throws. */
  record(sample: RequestSample): void {
    const key = seriesKey(labelsOf(sample, this.vocabulary));
    const counts = this.#pending.get(key) ?? {};
    for (const [field, amount] of Object.entries(fieldsOf(sample))) {
      counts[field] = (counts[field] ?? 0) + amount;
    }
    this.#pending.set(key, counts);
    this.#pendingRequests++;
    if (
      this.#pendingRequests >= this.#batchSize ||
      this.#now() - this.#lastFlush >= this.#intervalMs
    ) {
      const flushing = this.flush();
      this.options.waitUntil?.(flushing);
    } else if (this.#timer === undefined) {
      // A quiet isolate still gets its last requests out.
      this.#timer = this.#timers.set(() => {
        this.#timer = undefined;
        const flushing = this.flush();
        this.options.waitUntil?.(flushing);
      }, this.#intervalMs);
    }
  }

  /** Writes the pending counts; concurrent calls share one write. Never rejects. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      this.#timers.clear(this.#timer);
      this.#timer = undefined;
    }
    this.#flushing ??= this.#write().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
  }

  async #write(): Promise<void> {
    // Counts recorded while this write runs wait for the next one.
    while (this.#pending.size > 0) {
      const batch = this.#pending;
      this.#pending = new Map();
      this.#pendingRequests = 0;
      this.#lastFlush = this.#now();
      try {
        await Promise.all([
          this.store.setIfAbsent(
            METRICS_KEYS.started,
            new Date(this.#now()).toISOString(),
            METRICS_TTL_MS,
          ),
          ...[...batch].flatMap(([key, counts]) => [
            this.store.run(ADD_TO_FIELDS, METRICS_KEYS.series(key), [
              METRICS_TTL_MS,
              ...Object.entries(counts).flat(),
            ]),
            this.store.run(ADD_TO_FIELDS, METRICS_KEYS.index, [METRICS_TTL_MS, key, 1]),
          ]),
        ]);
      } catch (error) {
        // Counts that cannot be written now are merged back and tried with the next flush.
        for (const [key, counts] of batch) {
          const current = this.#pending.get(key) ?? {};
          for (const [field, amount] of Object.entries(counts)) {
            current[field] = (current[field] ?? 0) + amount;
          }
          this.#pending.set(key, current);
        }
        this.options.onWriteError?.(error);
        return;
      }
    }
  }
}
