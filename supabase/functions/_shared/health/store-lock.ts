/**
 * Single flight across isolates: a short-lived key taken with `setIfAbsent`.
 * Whoever sets it runs the work; everyone else waits for it to go away and
 * reads what the holder stored. The TTL frees the key if the holder dies.
 */
import type { StateStore } from "../store/state-store.ts";

/** What `runExclusive` did. */
export type Exclusive<T> = { ran: true; value: T } | { ran: false };

/**
 * Runs `work` if this caller takes `key` for `ttlMs`, else returns
 * `{ran: false}` at once. Throws when the store cannot be reached.
 */
export async function runExclusive<T>(
  store: StateStore,
  key: string,
  ttlMs: number,
  work: () => Promise<T>,
): Promise<Exclusive<T>> {
  if (!await store.setIfAbsent(key, { since: new Date().toISOString() }, ttlMs)) {
    return { ran: false };
  }
  const started = performance.now();
  try {
    return { ran: true, value: await work() };
  } finally {
    // Past its TTL the key may be someone else's by now: leave it to expire.
    if (performance.now() - started < ttlMs) await store.delete(key).catch(() => {});
  }
}

/** Waits until `key` is gone from `store` or `ms` passed, looking every `pollMs`. */
export async function waitForRelease(
  store: StateStore,
  key: string,
  ms: number,
  pollMs = 100,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline && await store.get(key) !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
