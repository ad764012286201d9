/**
 * A remote store's values as this isolate last read them, reused for a short
 * time: configuration read on every request (preferences, guard settings)
 * then costs no round trip. Only values read through `get` go here; atomic
 * operations always ask the store.
 */

/** Most keys kept; the oldest remembered go first beyond it. */
const NEAR_CACHE_ENTRIES = 1_000;

/** Raw values (JSON text, or null for "absent") kept for `ttlMs` by the wall clock. */
export class NearCache {
  readonly #entries = new Map<string, { raw: string | null; until: number }>();

  /** `ttlMs` 0 keeps nothing. */
  constructor(private readonly ttlMs: number) {}

  /** The raw value remembered for `key` while it is fresh; undefined when there is none. */
  read(key: string): string | null | undefined {
    const entry = this.#entries.get(key);
    return entry && entry.until > Date.now() ? entry.raw : undefined;
  }

  /** Keeps `raw` as `key`'s value (null: the key is absent). */
  remember(key: string, raw: string | null): void {
    if (this.ttlMs <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { raw, until: Date.now() + this.ttlMs });
    if (this.#entries.size > NEAR_CACHE_ENTRIES) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Drops what is remembered for `key` (this isolate changed it). */
  forget(key: string): void {
    this.#entries.delete(key);
  }
}
