/**
 * One attempt's cancellation: the caller's signal plus the attempt's own
 * timeout. A timeout aborts with a `TimeoutError` (adapters classify it as
 * TIMEOUT, retryable); the caller's abort passes its reason through.
 */

/** A running attempt. */
export interface Attempt {
  signal: AbortSignal;
  /** Stops the timeout (a stream's first event arrived); the caller's abort still applies. */
  disarm(): void;
  /** Unlinks from the caller's signal once the attempt is over. */
  release(): void;
  abort(reason: unknown): void;
}

/** Opens an attempt under `parent` that times out after `ms`. */
export function openAttempt(parent: AbortSignal, ms: number): Attempt {
  const controller = new AbortController();
  const onParentAbort = () =>
    controller.abort(parent.reason ?? new DOMException("caller left", "AbortError"));
  if (parent.aborted) onParentAbort();
  else parent.addEventListener("abort", onParentAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(
    () => controller.abort(new DOMException("attempt timed out", "TimeoutError")),
    ms,
  );
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return {
    signal: controller.signal,
    disarm,
    release: () => {
      disarm();
      parent.removeEventListener("abort", onParentAbort);
    },
    abort: (reason) => controller.abort(reason),
  };
}
