/** Bounding a health check's wait, whether or not the work honours its signal. */

/** How long work gets, after its signal aborted, to fail with its own (better) error. */
const GRACE_MS = 250;

/**
 * Runs `work` with a signal that aborts after `ms` (reason: a `TimeoutError`
 * DOMException, which provider adapters classify as TIMEOUT with the model
 * named), and rejects with that reason shortly after if `work` ignores the
 * signal (a database driver waiting on a connect timeout of its own): a
 * health answer must come on time.
 */
export function withTimeout<T>(
  work: (signal: AbortSignal) => Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  const controller = new AbortController();
  const reason = new DOMException(`${what} took longer than ${ms} ms`, "TimeoutError");
  const timers: ReturnType<typeof setTimeout>[] = [];
  const expired = new Promise<never>((_, reject) => {
    timers.push(setTimeout(() => controller.abort(reason), ms));
    timers.push(setTimeout(() => reject(reason), ms + GRACE_MS));
  });
  return Promise.race([work(controller.signal), expired]).finally(() =>
    timers.forEach(clearTimeout)
  );
}
