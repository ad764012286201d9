/**
 * Shared, expiring state: what must hold across requests and, with a
 * distributed backend, across isolates (caches now; rate limits, breakers and
 * counters as the guardrails land). The embedded default keeps it in this
 * isolate's memory.
 */

/** A key-value store with per-key expiry. Values must survive a JSON round trip. */
export interface StateStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  delete(...keys: string[]): Promise<void>;
}

/** The in-memory store: one per isolate, expiry by the injected clock. */
export class MemoryStateStore implements StateStore {
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get<T>(key: string): Promise<T | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return Promise.resolve(undefined);
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return Promise.resolve(undefined);
    }
    // Stored as JSON so callers never share (and mutate) one object, as with a remote store.
    return Promise.resolve(JSON.parse(entry.value) as T);
  }

  set(key: string, value: unknown, ttlMs: number): Promise<void> {
    this.#entries.set(key, { value: JSON.stringify(value), expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.#entries.delete(key);
    return Promise.resolve();
  }
}

/** Reads `key` from `store`, or computes it with `load` and keeps it for `ttlMs`. */
export async function cached<T>(
  store: StateStore,
  key: string,
  ttlMs: number,
  load: () => Promise<T>,
): Promise<T> {
  const hit = await store.get<{ value: T }>(key);
  if (hit) return hit.value;
  const value = await load();
  // Wrapped, so that "no row" (undefined/null) is cached too.
  await store.set(key, { value }, ttlMs);
  return value;
}
