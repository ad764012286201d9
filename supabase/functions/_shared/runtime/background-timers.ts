/** Timers for background flushes, which must never keep a process alive. */

/** Schedules a delayed callback; injectable so tests control time. */
export interface QueueTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** setTimeout/clearTimeout, unref'd where the runtime allows. */
export const unrefTimers: QueueTimers = {
  set(fn, ms) {
    const handle: unknown = setTimeout(fn, ms);
    // An idle queue must never keep a process (a script, a test, an isolate) alive.
    // Recent Deno and Node return a timer object with unref(); older runtimes a
    // numeric id for Deno.unrefTimer.
    const timer = handle as { unref?: () => void };
    if (typeof timer.unref === "function") timer.unref();
    else if (typeof handle === "number") {
      (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno?.unrefTimer?.(handle);
    }
    return handle;
  },
  clear: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};
