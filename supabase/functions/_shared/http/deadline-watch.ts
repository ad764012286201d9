/**
 * Many deadlines of one length watched by one timer, instead of a timer per
 * request: creating and clearing a timer is a measurable share of a request's
 * CPU, and nearly every deadline is met (a body arrives in microseconds).
 * Watching is adding to a set; a tick every quarter of the length (10 ms –
 * 1 s) fires the late ones and re-arms only while something is watched, so a
 * busy isolate sets one timer per tick, not per request, and an idle one none
 * (the timer is unref'd: it never keeps a process alive). A deadline fires up
 * to one tick late: 30 s becomes at most 31 s.
 */
import { type QueueTimers, unrefTimers } from "../runtime/background-timers.ts";

interface Watched {
  /** When it is late (ms, on the watch's clock). */
  at: number;
  onLate: () => void;
}

/** Watches deadlines of `ms` each. */
export class DeadlineWatch {
  /** In the order they were added, which is deadline order: every one is `ms` long. */
  readonly #watched = new Set<Watched>();
  readonly #tickMs: number;
  #armed = false;

  constructor(
    readonly ms: number,
    private readonly now: () => number = () => performance.now(),
    private readonly timers: QueueTimers = unrefTimers,
  ) {
    this.#tickMs = Math.min(1_000, Math.max(10, Math.floor(ms / 4)));
  }

  /** Calls `onLate` once `ms` have passed, unless the returned function is called first. */
  watch(onLate: () => void): () => void {
    const entry: Watched = { at: this.now() + this.ms, onLate };
    this.#watched.add(entry);
    if (!this.#armed) this.#arm();
    return () => {
      this.#watched.delete(entry);
    };
  }

  /** How many deadlines are watched now. */
  get size(): number {
    return this.#watched.size;
  }

  #arm(): void {
    this.#armed = true;
    this.timers.set(() => this.#tick(), this.#tickMs);
  }

  #tick(): void {
    this.#armed = false;
    const now = this.now();
    for (const entry of this.#watched) {
      if (entry.at > now) break;
      this.#watched.delete(entry);
      try {
        entry.onLate();
      } catch {
        // One late reader's failure must not keep the others from being told.
      }
    }
    if (this.#watched.size > 0) this.#arm();
  }
}
