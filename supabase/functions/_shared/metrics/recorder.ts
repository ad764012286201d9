/**
 * Request metrics, recorded off the hot path: `record` only adds to this
 * isolate's pending counts; they are added to the StateStore in batches (one
 * atomic add per series), so llm-metrics reads the same totals whichever
 * isolate serves it, and a request never waits on a metrics write. Each
 * request counts in the platform's series, in its account's, and in its
 * gateway key's when it came with one.
 */
import type { StateStore } from "../store/state-store.ts";
import { type QueueTimers, unrefTimers } from "../runtime/background-timers.ts";
import { ADD_TO_FIELDS } from "./hash-ops.ts";
import {
  type CountedQueue,
  keyScope,
  METRICS_KEYS,
  METRICS_TTL_MS,
  scopeKeys,
  setAsideField,
} from "./keys.ts";
import {
  accountOfSample,
  addSample,
  keyOfSample,
  type LabelVocabulary,
  type RequestSample,
  seriesKeyOf,
} from "./sample.ts";

export { METRICS_KEYS, METRICS_TTL_MS } from "./keys.ts";

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

/** Pending counts: scope ("" for the platform, else an account id) → series key → counts. */
type Pending = Map<string, Map<string, Record<string, number>>>;

const PLATFORM = "";

/** Records request samples and flushes them to a store. */
export class MetricsRecorder {
  #pending: Pending = new Map();
  #pendingQueues: Record<string, number> = {};
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
    const key = seriesKeyOf(sample, this.vocabulary);
    addSample(pendingCounts(this.#pending, PLATFORM, key), sample);
    const account = accountOfSample(sample);
    if (account !== undefined) addSample(pendingCounts(this.#pending, account, key), sample);
    const gatewayKey = keyOfSample(sample);
    if (gatewayKey !== undefined) {
      addSample(pendingCounts(this.#pending, keyScope(account!, gatewayKey), key), sample);
    }
    this.#pendingRequests++;
    this.#schedule();
  }

  /**
   * Counts `rows` a background queue (usage, audit) set aside because the
   * database refused them: a platform counter, written with the next flush.
   */
  countSetAside(queue: CountedQueue, rows: number): void {
    if (!(rows > 0)) return;
    const field = setAsideField(queue);
    this.#pendingQueues[field] = (this.#pendingQueues[field] ?? 0) + Math.round(rows);
    this.#schedule();
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

  /** Flushes now when the batch is full or the interval passed, else makes sure a timer will. */
  #schedule(): void {
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

  async #write(): Promise<void> {
    // Counts recorded while this write runs wait for the next one.
    while (this.#pending.size > 0 || Object.keys(this.#pendingQueues).length > 0) {
      const batch = this.#pending;
      const queues = this.#pendingQueues;
      this.#pending = new Map();
      this.#pendingQueues = {};
      this.#pendingRequests = 0;
      this.#lastFlush = this.#now();
      try {
        await Promise.all(this.#writes(batch, queues));
      } catch (error) {
        // Counts that cannot be written now are merged back and tried with the next flush.
        for (const [scope, series] of batch) {
          for (const [key, counts] of series) addTo(this.#pending, scope, key, counts);
        }
        for (const [field, amount] of Object.entries(queues)) {
          this.#pendingQueues[field] = (this.#pendingQueues[field] ?? 0) + amount;
        }
        this.options.onWriteError?.(error);
        return;
      }
    }
  }

  /** One atomic add per series, one per scope's index, one for the accounts and the queues. */
  #writes(batch: Pending, queues: Record<string, number>): Promise<unknown>[] {
    const started = new Date(this.#now()).toISOString();
    const add = (key: string, counts: Record<string, number>) =>
      this.store.run(ADD_TO_FIELDS, key, [METRICS_TTL_MS, ...Object.entries(counts).flat()]);
    const writes: Promise<unknown>[] = [];
    const accounts: Record<string, number> = {};
    for (const [scope, series] of batch) {
      const keys = scopeKeys(scope === PLATFORM ? undefined : scope);
      if (scope !== PLATFORM) accounts[scope] = 1;
      writes.push(this.store.setIfAbsent(keys.started, started, METRICS_TTL_MS));
      for (const [key, counts] of series) writes.push(add(keys.series(key), counts));
      writes.push(add(keys.index, Object.fromEntries([...series.keys()].map((key) => [key, 1]))));
    }
    if (Object.keys(accounts).length > 0) writes.push(add(METRICS_KEYS.accounts, accounts));
    if (Object.keys(queues).length > 0) writes.push(add(METRICS_KEYS.queues, queues));
    return writes;
  }
}

/** `scope`'s pending counts of series `key`, created empty when there are none yet. */
function pendingCounts(pending: Pending, scope: string, key: string): Record<string, number> {
  let series = pending.get(scope);
  if (!series) pending.set(scope, series = new Map());
  let counts = series.get(key);
  if (!counts) series.set(key, counts = {});
  return counts;
}

/** Adds `counts` to `scope`'s pending series `key` (counts a failed write puts back). */
function addTo(
  pending: Pending,
  scope: string,
  key: string,
  counts: Record<string, number>,
): void {
  const current = pendingCounts(pending, scope, key);
  for (const field in counts) current[field] = (current[field] ?? 0) + counts[field];
}
