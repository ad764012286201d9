/**
 * Where metrics live in the store. Counters are kept per scope: the
 * platform (every request) and each account (its own requests only), so a
 * tenant's admin can be shown their account's figures and nothing of the
 * others'. Each scope has the same three kinds of key.
 */

/** The keys of one scope. */
export interface ScopeKeys {
  /** Hash: series key → flushes seen (the list of series). */
  index: string;
  /** Hash of one series' counters. */
  series: (key: string) => string;
  /** When counting started (set on the first flush, and by a reset). */
  started: string;
}

/** Platform-wide keys (the names they had before accounts were counted apart). */
export const METRICS_KEYS = {
  index: "metrics:index",
  series: (key: string) => `metrics:series:${key}`,
  started: "metrics:started",
  /** Hash: account id → flushes seen (the accounts that have series, for a reset). */
  accounts: "metrics:accounts",
  /** Hash: `<queue>:set_aside` → rows a queue set aside (platform only). */
  queues: "metrics:queues",
} as const;

/**
 * The scope of one gateway key's own series, inside its account's. As an
 * account scope it lands in the accounts' list too, so a reset drops it.
 */
export function keyScope(accountId: string, keyId: string): string {
  return `${accountId}:key:${keyId}`;
}

/** The keys of the platform (`accountId` undefined), of one account or of one key (`keyScope`). */
export function scopeKeys(accountId?: string): ScopeKeys {
  if (accountId === undefined) return METRICS_KEYS;
  const base = `metrics:account:${accountId}`;
  return {
    index: `${base}:index`,
    series: (key) => `${base}:series:${key}`,
    started: `${base}:started`,
  };
}

/** The background queues whose set-aside rows are counted. */
export const COUNTED_QUEUES = ["usage", "audit"] as const;

/** A queue whose set-aside rows are counted. */
export type CountedQueue = typeof COUNTED_QUEUES[number];

/** The field of `queue`'s set-aside count in the `queues` hash. */
export const setAsideField = (queue: CountedQueue) => `${queue}:set_aside`;

/** Counters outlive any scrape interval by far, yet do not stay forever once nothing writes. */
export const METRICS_TTL_MS = 30 * 86_400_000;
