/**
 * The caller's token bucket as the guards and the rate-limit headers see it:
 * whose bucket a request takes from (a gateway key's, its account's, else
 * its user's), where that bucket lives in the store, its status after a
 * take, and the 429 that carries that status.
 */
import { LLMError, type LLMErrorOptions } from "../llm/errors.ts";
import type { BucketReading, TokenBucket } from "./token-bucket.ts";

/** The caller's bucket once its request took a token: what the `x-ratelimit-*` headers say. */
export interface RateLimitStatus {
  /** The burst: requests a full bucket admits at once. */
  limit: number;
  /** Requests the bucket admits now. */
  remaining: number;
  /** Ms until the bucket is full again. */
  resetMs: number;
}

/**
 * A 429 RATE_LIMIT_EXCEEDED from the caller's own bucket. It carries the
 * bucket's status, so the refusal reports it in the same headers an answer does.
 */
export class RateLimitRefusal extends LLMError {
  constructor(
    message: string,
    options: LLMErrorOptions,
    readonly rateLimit: RateLimitStatus,
  ) {
    super("RATE_LIMIT_EXCEEDED", message, options);
  }
}

/** A caller's bucket as `GET /rate-limits/status` shows it. */
export interface BucketStatus {
  /** The bucket's scope, `acct:<accountId>`: the key every request of the account takes from. */
  scope: string;
  /** Whose limit applies: the account's own, the deployment's default, or none. */
  source: "account" | "default" | "none";
  /** Undefined when no limit applies. */
  bucket?: TokenBucket;
  /** The bucket now; undefined when no limit applies. */
  reading?: BucketReading;
}

/** Whose bucket a request takes from: its account's, else its user's; none for server code without either. */
export function scopeOf(caller: { accountId?: string; userId?: string }): string | undefined {
  return caller.accountId
    ? accountScope(caller.accountId)
    : caller.userId
    ? `user:${caller.userId}`
    : undefined;
}

/** The scope of an account's bucket. */
export function accountScope(accountId: string): string {
  return `acct:${accountId}`;
}

/** The scope of a gateway key's own bucket. */
export function keyScope(keyId: string): string {
  return `key:${keyId}`;
}

/** Of two buckets' statuses after a take, the one nearer refusing (what the caller's headers say). */
export function tighter(
  a: RateLimitStatus | undefined,
  b: RateLimitStatus | undefined,
): RateLimitStatus | undefined {
  if (!a || !b) return a ?? b;
  return b.remaining < a.remaining ? b : a;
}

/** The store key of the bucket of `scope`. */
export function bucketKey(scope: string): string {
  return `rate:${scope}`;
}
