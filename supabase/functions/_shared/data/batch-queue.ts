/**
 * Work off the hot path: `enqueue` only pushes onto an in-memory queue, and
 * batches are written later (when a batch fills, when a timer fires, or at
 * shutdown), one write at a time so rows land in the order they were queued.
 * The queue is bounded: when the database cannot keep up, new items are
 * dropped and counted rather than growing an isolate's memory without limit.
 *
 * One bad row must never hold up the rest. When the database refuses a batch
 * (its data, not its availability), the batch is halved until the good rows
 * are written and the bad one stands alone; that one gets one `repair` and
 * one more try, then it is set aside: counted, reported, and dropped. When the
 * database cannot be reached, nothing is given up: the unwritten rows go back
 * in front and the timer tries again.
 */
import { type QueueTimers, unrefTimers } from "../runtime/background-timers.ts";
import { isRefusedByDatabase } from "../store/db-errors.ts";

export type { QueueTimers };

/** How a BatchQueue batches, bounds, repairs and reports. */
export interface BatchQueueOptions<T = unknown> {
  /** Most items per write; a queue this long is flushed at once. Default 100. */
  batchSize?: number;
  /** How long a partial batch waits before it is written. Default 5000 ms. */
  flushIntervalMs?: number;
  /** Most items waiting to be written; more are dropped. Default 1000. */
  capacity?: number;
  /** Keeps a flush started by `enqueue` or the timer alive after the response (EdgeRuntime.waitUntil). */
  waitUntil?: (work: Promise<unknown>) => void;
  /**
   * Told of each write that failed for a reason other than its data (the
   * database down or slow); `events`: how many items went back in the queue.
   */
  onWriteError?: (error: unknown, events: number) => void;
  /**
   * Whether `error` means the database refused the rows themselves, so that
   * sending them again unchanged cannot succeed. Default: a SQLSTATE of class
   * 22, 23 or 54 (`isRefusedByDatabase`). Anything else keeps the rows queued.
   */
  isRefused?: (error: unknown) => boolean;
  /**
   * A last chance for an item the database refused on its own: return a
   * fixed copy to be tried once more, or undefined to give it up. A repair
   * that throws counts as undefined.
   */
  repair?: (item: T) => T | undefined;
  /**
   * Told of items set aside (refused alone, and again after `repair`): how
   * many, the database's error, and the items, for an id to log. The items
   * are dropped afterwards; never log their content.
   */
  onSetAside?: (rows: number, error: unknown, items: readonly T[]) => void;
  /** Default: setTimeout/clearTimeout, unref'd where the runtime allows. */
  timers?: QueueTimers;
}

/** Counters for metrics and tests. */
export interface BatchQueueStats {
  /** Items waiting (not counting a batch being written). */
  queued: number;
  /** Items written (repaired ones included). */
  written: number;
  /** Items given up on: the queue was full. */
  dropped: number;
  /** Writes that failed with the database unavailable (their items were queued again while there was room). */
  failedWrites: number;
  /** Items the database refused until `repair` fixed them, then written. */
  repaired: number;
  /** Items given up on: the database refused them alone, repaired or not. */
  setAside: number;
  /** Whether a write is under way. */
  inFlight: boolean;
}

/** Rows not yet written because the database could not be reached, in queue order. */
interface Unwritten<T> {
  items: T[];
  error: unknown;
}

/** A bounded queue of items written in batches by `write`. */
export class BatchQueue<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #capacity: number;
  readonly #onWriteError?: (error: unknown, events: number) => void;
  readonly #isRefused: (error: unknown) => boolean;
  readonly #repair?: (item: T) => T | undefined;
  readonly #onSetAside?: (rows: number, error: unknown, items: readonly T[]) => void;
  readonly #waitUntil?: (work: Promise<unknown>) => void;
  readonly #timers: QueueTimers;
  #queue: T[] = [];
  #timer: { handle: unknown } | undefined;
  #flushing: Promise<void> | undefined;
  #inFlight = false;
  #written = 0;
  #dropped = 0;
  #failedWrites = 0;
  #repaired = 0;
  #setAside = 0;

  constructor(write: (items: T[]) => Promise<void>, options: BatchQueueOptions<T> = {}) {
    this.#write = write;
    this.#batchSize = Math.max(1, options.batchSize ?? 100);
    this.#flushIntervalMs = options.flushIntervalMs ?? 5000;
    this.#capacity = Math.max(1, options.capacity ?? 1000);
    this.#onWriteError = options.onWriteError;
    this.#isRefused = options.isRefused ?? isRefusedByDatabase;
    this.#repair = options.repair;
    this.#onSetAside = options.onSetAside;
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
   * under way share it. Rows the database refuses are split off, repaired or
   * set aside; a write that fails otherwise puts its rows back and stops the
   * flush (the timer tries again later). Never rejects.
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
      repaired: this.#repaired,
      setAside: this.#setAside,
      inFlight: this.#inFlight,
    };
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#batchSize);
      this.#inFlight = true;
      let unwritten: Unwritten<T> | undefined;
      try {
        unwritten = await this.#writeSplitting(batch);
      } finally {
        this.#inFlight = false;
      }
      if (unwritten) {
        this.#failedWrites++;
        this.#requeue(unwritten.items);
        this.#notify(() => this.#onWriteError?.(unwritten.error, unwritten.items.length));
        return;
      }
    }
  }

  /**
   * Writes `batch`. A batch the database refuses is halved, and each half
   * written in turn, until the rows it refuses stand alone (so the good rows
   * land, still in order); each of those is repaired or set aside. Returns
   * the rows still unwritten when the database could not be reached.
   */
  async #writeSplitting(batch: T[]): Promise<Unwritten<T> | undefined> {
    // Parts still to write, the next one last.
    const parts: T[][] = [batch];
    while (parts.length > 0) {
      const part = parts.pop()!;
      const failure = await this.#attempt(part);
      if (!failure) continue;
      if (!this.#refused(failure.error)) {
        return { items: [...part, ...parts.reverse().flat()], error: failure.error };
      }
      if (part.length > 1) {
        const middle = Math.ceil(part.length / 2);
        parts.push(part.slice(middle), part.slice(0, middle));
        continue;
      }
      const left = await this.#repairOrSetAside(part[0], failure.error);
      if (left) return { items: [left.item, ...parts.reverse().flat()], error: left.error };
    }
    return undefined;
  }

  /**
   * One item the database refused on its own: written once more after
   * `repair`, else set aside. Returns the repaired item when that write found
   * the database unavailable, so it goes back in the queue.
   */
  async #repairOrSetAside(
    item: T,
    refusal: unknown,
  ): Promise<{ item: T; error: unknown } | undefined> {
    let repaired: T | undefined;
    try {
      repaired = this.#repair?.(item);
    } catch {
      repaired = undefined;
    }
    if (repaired !== undefined) {
      const failure = await this.#attempt([repaired]);
      if (!failure) {
        this.#repaired++;
        return undefined;
      }
      if (!this.#refused(failure.error)) return { item: repaired, error: failure.error };
      refusal = failure.error;
    }
    // Dropped after counting: no isolate could read a kept copy back, and the
    // row may carry whatever odd input refused it; the hook's log names its id.
    this.#setAside++;
    this.#notify(() => this.#onSetAside?.(1, refusal, [item]));
    return undefined;
  }

  /** Writes `items`, counting them; the failure, when there is one. */
  async #attempt(items: T[]): Promise<{ error: unknown } | undefined> {
    try {
      await this.#write(items);
      this.#written += items.length;
      return undefined;
    } catch (error) {
      return { error };
    }
  }

  /** Whether the database refused the rows; a broken classifier keeps them queued, the safe side. */
  #refused(error: unknown): boolean {
    try {
      return this.#isRefused(error);
    } catch {
      return false;
    }
  }

  /** Runs a caller's hook: a broken hook must not turn a flush into a rejection. */
  #notify(hook: () => void): void {
    try {
      hook();
    } catch {
      // Nothing to do: the counters already say what happened.
    }
  }

  /**
   * Puts unwritten items back in front, in their original order. When events
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
