/**
 * Work off the hot path: `enqueue` only pushes onto an in-memory queue, and
 * batches are written later (when a batch fills, when a timer fires, or at
 * shutdown), one write at a time so rows land in the order they were queued.
 * The queue is bounded: when the database cannot keep up, new items are
 * dropped and counted rather than growing an isolate's memory without limit.
 */
import { type QueueTimers, unrefTimers } from "../http/background-timers.ts";

export type { QueueTimers };

/** How a BatchQueue batches, bounds and reports. */
export interface BatchQueueOptions {
  /** Most items per write; a queue this long is flushed at once. Default 100. */
  batchSize?: number;
  /** How long a partial batch waits before it is written. Default 5000 ms. */
  flushIntervalMs?: number;
  /** Most items waiting to be written; more are dropped. Default 1000. */
  capacity?: number;
  /** Keeps a flush started by `enqueue` or the timer alive after the response (EdgeRuntime.waitUntil). */
  waitUntil?: (work: Promise<unknown>) => void;
  /** Told of each failed write (`events`: how many items were in it). */
  onWriteError?: (error: unknown, events: number) => void;
  /** Default: setTimeout/clearTimeout, unref'd where the runtime allows. */
  timers?: QueueTimers;
}

/** Counters for metrics and tests. */
export interface BatchQueueStats {
  /** Items waiting (not counting a batch being written). */
  queued: number;
  /** Items written. */
  written: number;
  /** Items given up on: the queue was full. */
  dropped: number;
  /** Writes that failed (their items were queued again while there was room). */
  failedWrites: number;
  /** Whether a write is under way. */
  inFlight: boolean;
}

/** A bounded queue of items written in batches by `write`. */
export class BatchQueue<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #capacity: number;
  readonly #onWriteError?: (error: unknown, events: number) => void;
  readonly #waitUntil?: (work: Promise<unknown>) => void;
  readonly #timers: QueueTimers;
  #queue: T[] = [];
  #timer: { handle: unknown } | undefined;
  #flushing: Promise<void> | undefined;
  #inFlight = false;
  #written = 0;
  #dropped = 0;
  #failedWrites = 0;

  constructor(write: (items: T[]) => Promise<void>, options: BatchQueueOptions = {}) {
    this.#write = write;
    this.#batchSize = Math.max(1, options.batchSize ?? 100);
    this.#flushIntervalMs = options.flushIntervalMs ?? 5000;
    this.#capacity = Math.max(1, options.capacity ?? 1000);
    this.#onWriteError = options.onWriteError;
    this.#waitUntil = options.waitUntil;
    this.#timers = options.timers ?? unrefTimers;
  }

  /**
   * Queues `item` and returns at once: true when it was queued, false when
   * the queue was full and it was dropped. Never waits and never throws.
   */
  enqueue(item: T): boolean {
    if (this.#queue.length >= this.#capacity) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(item);
    if (this.#queue.length >= this.#batchSize) this.#background(this.flush());
    else this.#arm();
    return true;
  }

  /**
   * Writes everything queued, a batch at a time. Calls made while a flush is
   * under way share it. Stops at the first failed write (the timer tries
   * again later); never rejects.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
      // What is left (after a failure, or queued as the drain ended) waits for the timer.
      if (this.#queue.length > 0) this.#arm();
      else this.#disarm();
    });
    return this.#flushing;
  }

  /** Stops the timer and writes what is queued: for shutdown and tests. */
  async close(): Promise<void> {
    this.#disarm();
    await this.flush();
    // A failed final write re-armed the timer; at shutdown nobody is left to retry.
    this.#disarm();
  }

  /** Current counters. */
  stats(): BatchQueueStats {
    return {
      queued: this.#queue.length,
      written: this.#written,
      dropped: this.#dropped,
      failedWrites: this.#failedWrites,
      inFlight: this.#inFlight,
    };
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#batchSize);
      this.#inFlight = true;
      try {
        await this.#write(batch);
        this.#written += batch.length;
      } catch (error) {
        this.#failedWrites++;
        this.#requeue(batch);
        try {
          this.#onWriteError?.(error, batch.length);
        } catch {
          // A broken error hook must not turn a flush into a rejection.
        }
        return;
      } finally {
        this.#inFlight = false;
      }
    }
  }

  /**
   * Puts a failed batch back in front, in its original order. When events
   * queued meanwhile leave too little room, the newest are dropped, as
   * `enqueue` would have dropped them on a full queue.
   */
  #requeue(batch: T[]): void {
    this.#queue = [...batch, ...this.#queue];
    const overflow = this.#queue.length - this.#capacity;
    if (overflow > 0) {
      this.#queue.length = this.#capacity;
      this.#dropped += overflow;
    }
  }

  #background(work: Promise<void>): void {
    this.#waitUntil?.(work);
  }

  #arm(): void {
    if (this.#timer) return;
    const timer = {
      handle: this.#timers.set(() => {
        if (this.#timer === timer) this.#timer = undefined;
        this.#background(this.flush());
      }, this.#flushIntervalMs),
    };
    this.#timer = timer;
  }

  #disarm(): void {
    if (!this.#timer) return;
    this.#timers.clear(this.#timer.handle);
    this.#timer = undefined;
  }
}
