/**
 * A token bucket as one atomic store operation: refill by elapsed time, then
 * take. Burst = capacity; sustained rate = refill per second. Time comes from
 * the caller (the injected clock), so tests step through it exactly.
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
}

// An idle bucket is full again after capacity/rate; it may then be forgotten.
const LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
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
return {allowed, wait, math.floor(tokens)}
`;

/** The bucket step; ARGV = capacity, refill per second, now (ms), cost. */
export const TAKE_TOKENS: AtomicOperation<BucketVerdict> = {
  name: "take_tokens",
  lua: LUA,
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
      reply: [allowed, wait, Math.floor(tokens)],
    };
  },
  decode: (reply) => ({
    allowed: replyNumber(reply, 0) === 1,
    retryAfterMs: replyNumber(reply, 1),
    remaining: replyNumber(reply, 2),
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
