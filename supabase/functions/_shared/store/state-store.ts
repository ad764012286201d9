/**
 * Shared, expiring state: what must hold across requests and, with a
 * distributed backend, across isolates (caches, rate limits, circuit
 * breakers, budget ledgers). The embedded default keeps it in this isolate's
 * memory; `UpstashStateStore` keeps it in Redis and `PostgresStateStore` in
 * the project's database. Anything that must be consistent across isolates is
 * an `AtomicOperation`, never a read followed by a write from TypeScript.
 */
import type { AtomicArg, AtomicOperation, HashFields } from "./atomic.ts";

/** A key-value store with per-key expiry and atomic hash operations. */
export interface StateStore {
  /** Which backend this is, for logs and health. */
  readonly kind: "memory" | "upstash" | "postgres";
  /** A value written by `set` (values must survive a JSON round trip). */
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /** Sets `key` only when it does not exist; true when this call set it. */
  setIfAbsent(key: string, value: unknown, ttlMs: number): Promise<boolean>;
  delete(...keys: string[]): Promise<void>;
  /** Runs `operation` on the hash at `key` as one atomic step. */
  run<R>(operation: AtomicOperation<R>, key: string, args: readonly AtomicArg[]): Promise<R>;
}

interface Entry {
  value?: string;
  /** Frozen: an operation reads it and returns a new hash, as a Lua script reads Redis's. */
  hash?: Readonly<HashFields>;
  expiresAt: number;
}

/** Options of the memory store. */
export interface MemoryStateStoreOptions {
  /** Most entries kept; the oldest written go first beyond it (default 10,000). */
  maxEntries?: number;
}

/** The in-memory store: one per isolate, expiry by the injected clock. */
export class MemoryStateStore implements StateStore {
  readonly kind = "memory";
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  #writesSinceSweep = 0;

  constructor(
    private readonly now: () => number = Date.now,
    options: MemoryStateStoreOptions = {},
  ) {
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  get<T>(key: string): Promise<T | undefined> {
    const entry = this.#live(key);
    // Stored as JSON so callers never share (and mutate) one object, as with a remote store.
    return Promise.resolve(entry?.value === undefined ? undefined : JSON.parse(entry.value) as T);
  }

  set(key: string, value: unknown, ttlMs: number): Promise<void> {
    this.#write(key, { value: JSON.stringify(value), expiresAt: this.now() + ttlMs });
    return Promise.resolve();
  }

  setIfAbsent(key: string, value: unknown, ttlMs: number): Promise<boolean> {
    if (this.#live(key)) return Promise.resolve(false);
    this.#write(key, { value: JSON.stringify(value), expiresAt: this.now() + ttlMs });
    return Promise.resolve(true);
  }

  delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.#entries.delete(key);
    return Promise.resolve();
  }

  run<R>(operation: AtomicOperation<R>, key: string, args: readonly AtomicArg[]): Promise<R> {
    try {
      const entry = this.#live(key);
      // Redis hands a script every argument as a string; so does this store.
      const strings: string[] = new Array(args.length);
      for (let i = 0; i < args.length; i++) strings[i] = String(args[i]);
      // Each step runs to completion synchronously, which is what makes it atomic here. The
      // stored hash is frozen, so it is handed over as it is: no copy per operation.
      const step = operation.apply(entry?.hash, strings);
      if (step.fields === null) {
        this.#entries.delete(key);
      } else if (step.fields !== undefined || (step.ttlMs !== undefined && entry?.hash)) {
        // Like PEXPIRE, a new expiry on a missing key creates nothing.
        const hash = step.fields ? Object.freeze(step.fields) : entry!.hash!;
        const expiresAt = step.ttlMs !== undefined
          ? this.now() + step.ttlMs
          : entry?.expiresAt ?? Number.POSITIVE_INFINITY;
        this.#write(key, { hash, expiresAt });
      }
      return Promise.resolve(operation.decode(step.reply));
    } catch (error) {
      // As from a remote store: a failing step is a rejection, never a synchronous throw.
      return Promise.reject(error);
    }
  }

  /** Entries held now, expired ones included until swept (for tests and stats). */
  get size(): number {
    return this.#entries.size;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #write(key: string, entry: Entry): void {
    // Re-inserting moves the key to the end, so the map's order is oldest write first.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (++this.#writesSinceSweep >= 1_000) this.#sweep();
    while (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Drops expired entries that were never read again (rate-limit keys of idle accounts, old windows). */
  #sweep(): void {
    this.#writesSinceSweep = 0;
    const now = this.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
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
