/**
 * A value built on first use and kept for the isolate's life, unless its
 * build fails: then the next use builds it again. A function's world is built
 * like this, so a passing failure (a database or store not reachable yet, a
 * flaky env) costs one request its answer, not the isolate all of them.
 */

/** A lazily built value. */
export interface RetryingLazy<T> {
  /** The value, building it when there is none (or the last build failed). */
  get(): Promise<T>;
  /** The build in progress or done, if any; never one that failed. */
  peek(): Promise<T> | undefined;
}

/** Wraps `build`; it runs on the first `get()` and again after a failure. */
export function retryingLazy<T>(build: () => Promise<T>): RetryingLazy<T> {
  let current: Promise<T> | undefined;
  return {
    get: () =>
      current ??= build().catch((error) => {
        current = undefined;
        throw error;
      }),
    peek: () => current,
  };
}
