/**
 * A fixed number of slots for memory-heavy work in one isolate, handed out
 * first come, first served. Work that must hold a lot of memory at once (an
 * upstream embeddings answer being parsed) takes a slot, so the isolate's peak
 * stays `size` × one unit of work however many requests arrive together.
 */
import { HttpError } from "../_shared/http/errors.ts";
import { LLMError } from "../_shared/llm/errors.ts";

/** Gives back a slot; calling it again does nothing. */
export type ReleaseSlot = () => void;

/** A FIFO counting semaphore with a bounded queue. */
export class WorkSlots {
  #free: number;
  readonly #waiting: Array<(release: ReleaseSlot) => void> = [];

  constructor(
    readonly size: number,
    /** Callers that may wait at once; one more is refused (503) rather than queued. */
    readonly maxWaiting: number,
  ) {
    this.#free = size;
  }

  /** Slots taken right now. */
  get busy(): number {
    return this.size - this.#free;
  }

  /** Waits for a slot; rejects with `ABORTED` when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (signal?.aborted) return Promise.reject(aborted());
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.maxWaiting) {
      return Promise.reject(
        new HttpError(
          503,
          "OVERLOADED",
          "Too many embedding requests are waiting in this instance; retry shortly",
          { retryable: true },
          { "retry-after": "1" },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const grant = (release: ReleaseSlot) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(grant);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(aborted());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  #releaser(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next in line, so a newcomer cannot jump the queue.
      if (next) next(this.#releaser());
      else this.#free++;
    };
  }
}

function aborted(): LLMError {
  return new LLMError("ABORTED", "The caller went away");
}
