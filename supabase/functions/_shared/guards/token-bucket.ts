/**
 * A token bucket as atomic store operations: take (refill by elapsed time,
 * then take) and read (the same refill, computed, never written). Burst =
 * capacity; sustained rate = refill per second. Time comes from the caller
 * (the injected clock), so tests step through it exactly.
 */
import { type AtomicOperation, fieldNumber, replyNumber } from "../store/atomic.ts";
import type { StateStore } from "../store/state-store.ts";

/** A bucket's shape. */
export interface TokenBucket {
  /** Tokens a full bucket holds: the burst. */
  capacity: number;
  /** Tokens added per second: the sustained rate. */
  refillPerSecond: number;
}

/** The verdict of one take. */
export interface BucketVerdict {
  allowed: boolean;
  /** When refused: ms until enough tokens are back. */
  retryAfterMs: number;
  /** Whole tokens left after this take. */
  remaining: number;
  /** Ms until the bucket is full again (0 when it is). */
  resetMs: number;
}

/** A bucket as it is now, read without taking. */
export interface BucketReading {
  /** Whole tokens available now. */
  available: number;
  /** Ms until one token is available (0 when one is). */
  retryAfterMs: number;
  /** Ms until the bucket is full again (0 when it is). */
  resetMs: number;
}

// An idle bucket is full again after capacity/rate; it may then be forgotten.
/**
 * Both bucket scripts start alike: ARGV = capacity, refill per second, now;
 * `tokens` ends refilled to `now` (a missing bucket is full). The `if` block
 * is left open so the take can also move `at`.
 */
const REFILL_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
`;

const LUA = `${REFILL_LUA}  at = now
end
local cost = tonumber(ARGV[4])
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, wait, math.floor(tokens), math.ceil((capacity - tokens) / rate)}
`;

/** The bucket step; ARGV = capacity, refill per second, now (ms), cost. */
export const TAKE_TOKENS: AtomicOperation<BucketVerdict> = {
  name: "take_tokens",
  lua: LUA,
  sql: "llm_state_op_take_tokens",
  apply(fields, args) {
    const [capacity, perSecond, now, cost] = args.map(Number);
    const rate = perSecond / 1000;
    let tokens = fieldNumber(fields, "tokens", Number.NaN);
    let at = fieldNumber(fields, "at", Number.NaN);
    if (Number.isNaN(tokens) || Number.isNaN(at)) {
      tokens = capacity;
      at = now;
    }
    // A clock behind the last take (another isolate's) must not drain the bucket.
    if (now > at) {
      tokens = Math.min(capacity, tokens + (now - at) * rate);
      at = now;
    }
    let allowed = 0;
    let wait = 0;
    if (tokens >= cost) {
      tokens -= cost;
      allowed = 1;
    } else {
      wait = Math.ceil((cost - tokens) / rate);
    }
    return {
      fields: { tokens: String(tokens), at: String(at) },
      ttlMs: Math.ceil(capacity / rate) + 1000,
      reply: [allowed, wait, Math.floor(tokens), Math.ceil((capacity - tokens) / rate)],
    };
  },
  decode: (reply) => ({
    allowed: replyNumber(reply, 0) === 1,
    retryAfterMs: replyNumber(reply, 1),
    remaining: replyNumber(reply, 2),
    resetMs: replyNumber(reply, 3),
  }),
};

// The take's refill without the take and without a write: reading a bucket never changes it.
const READ_LUA = `${REFILL_LUA}end
local wait = 0
if tokens < 1 then
  wait = math.ceil((1 - tokens) / rate)
end
return {math.floor(tokens), wait, math.ceil((capacity - tokens) / rate)}
`;

/** The bucket read; ARGV = capacity, refill per second, now (ms). Writes nothing. */
export const READ_TOKENS: AtomicOperation<BucketReading> = {
  name: "read_tokens",
  lua: READ_LUA,
  sql: "llm_state_op_read_tokens",
  apply(fields, args) {
    const [capacity, perSecond, now] = args.map(Number);
    const rate = perSecond / 1000;
    let tokens = fieldNumber(fields, "tokens", Number.NaN);
    const at = fieldNumber(fields, "at", Number.NaN);
    if (Number.isNaN(tokens) || Number.isNaN(at)) tokens = capacity;
    else if (now > at) tokens = Math.min(capacity, tokens + (now - at) * rate);
    const wait = tokens < 1 ? Math.ceil((1 - tokens) / rate) : 0;
    return { reply: [Math.floor(tokens), wait, Math.ceil((capacity - tokens) / rate)] };
  },
  decode: (reply) => ({
    available: replyNumber(reply, 0),
    retryAfterMs: replyNumber(reply, 1),
    resetMs: replyNumber(reply, 2),
  }),
};

/** Takes `cost` tokens from the bucket at `key`. */
export function takeTokens(
  store: StateStore,
  key: string,
  bucket: TokenBucket,
  now: number,
  cost = 1,
): Promise<BucketVerdict> {
  return store.run(TAKE_TOKENS, key, [bucket.capacity, bucket.refillPerSecond, now, cost]);
}

/** Reads the bucket at `key` as a take at `now` would find it, taking nothing. */
export function readTokens(
  store: StateStore,
  key: string,
  bucket: TokenBucket,
  now: number,
): Promise<BucketReading> {
  return store.run(READ_TOKENS, key, [bucket.capacity, bucket.refillPerSecond, now]);
}
