/**
 * Audit events off the hot path: `enqueue` only pushes onto an in-memory
 * queue, and batches are written later (when a batch fills, when a timer
 * fires, or at shutdown), one write at a time so rows land in event order.
 * The queue is bounded: when the database cannot keep up, new events are
 * dropped and counted rather than growing an isolate's memory without limit.
 */
import type { AuditEvent } from "./audit.ts";
import { type QueueTimers, unrefTimers } from "../http/background-timers.ts";

export type { QueueTimers };

/** How an AuditQueue batches, bounds and reports. */
export interface AuditQueueOptions {
  /** Most events per write; a queue this long is flushed at once. Default 100. */
  batchSize?: number;
  /** How long a partial batch waits before it is written. Default 5000 ms. */
  flushIntervalMs?: number;
  /** Most events waiting to be written; more are dropped. Default 1000. */
  capacity?: number;
  /** Told of each failed write (`events`: how many were in it). */
  onWriteError?: (error: unknown, events: number) => void;
  /** Default: setTimeout/clearTimeout, unref'd where the runtime allows. */
  timers?: QueueTimers;
}

/** Counters for metrics and tests. */
export interface AuditQueueStats {
  /** Events waiting (not counting a batch being written). */
  queued: number;
  /** Events written. */
  written: number;
  /** Events given up on: the queue was full. */
  dropped: number;
  /** Writes that failed (their events were queued again while there was room). */
  failedWrites: number;
  /** Whether a write is under way. */
  inFlight: boolean;
}

/** A bounded queue of audit events written in batches by `write`. */
export class AuditQueue {
  readonly #write: (events: AuditEvent[]) => Promise<void>;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #capacity: number;
  readonly #onWriteError?: (error: unknown, events: number) => void;
  readonly #timers: QueueTimers;
  #queue: AuditEvent[] = [];
  #timer: { handle: unknown } | undefined;
  #flushing: Promise<void> | undefined;
  #inFlight = false;
  #written = 0;
  #dropped = 0;
  #failedWrites = 0;

  constructor(write: (events: AuditEvent[]) => Promise<void>, options: AuditQueueOptions = {}) {
    this.#write = write;
    this.#batchSize = Math.max(1, options.batchSize ?? 100);
    this.#flushIntervalMs = options.flushIntervalMs ?? 5000;
    this.#capacity = Math.max(1, options.capacity ?? 1000);
    this.#onWriteError = options.onWriteError;
    this.#timers = options.timers ?? unrefTimers;
  }

  /**
   * Queues `event` and returns at once: true when it was queued, false when
   * the queue was full and it was dropped. Never waits and never throws.
   */
  enqueue(event: AuditEvent): boolean {
    if (this.#queue.length >= this.#capacity) {
      this.#dropped++;
      return false;
    }
    // Stamped now, so a row written seconds later still says when it happened.
    this.#queue.push(event.at === undefined ? { ...event, at: Date.now() } : event);
    if (this.#queue.length >= this.#batchSize) void this.flush();
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
  stats(): AuditQueueStats {
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
  #requeue(batch: AuditEvent[]): void {
    this.#queue = [...batch, ...this.#queue];
    const overflow = this.#queue.length - this.#capacity;
    if (overflow > 0) {
      this.#queue.length = this.#capacity;
      this.#dropped += overflow;
    }
  }

  #arm(): void {
    if (this.#timer) return;
    const timer = {
      handle: this.#timers.set(() => {
        if (this.#timer === timer) this.#timer = undefined;
        void this.flush();
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

/**
 * Flushes `queue` (the audit queue, or anything else that writes in the
 * background and can `close()`) when the runtime is about to stop: Supabase's edge runtime
 * dispatches `beforeunload` before it shuts an isolate down, and the write is
 * handed to `EdgeRuntime.waitUntil` (when present) so the isolate lives until
 * it is done. Returns a function that removes the listener.
 */
export function flushOnShutdown(
  queue: { close(): Promise<void> },
  target: EventTarget = globalThis,
): () => void {
  const onBeforeUnload = () => {
    const done = queue.close();
    const runtime = (globalThis as {
      EdgeRuntime?: { waitUntil?: (promise: Promise<unknown>) => unknown };
    }).EdgeRuntime;
    runtime?.waitUntil?.(done);
  };
  // Once: Deno dispatches `beforeunload` again whenever its event loop empties, so
  // a listener that retried a failing database each time would never let it exit.
  // No `unload` listener: nothing asynchronous can finish there.
  target.addEventListener("beforeunload", onBeforeUnload, { once: true });
  return () => target.removeEventListener("beforeunload", onBeforeUnload);
}
