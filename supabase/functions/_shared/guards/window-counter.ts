/**
 * A fixed-window counter with a ceiling, as one atomic store operation: add
 * `amount` unless that would pass the limit. The window is part of the key
 * (e.g. the minute), so nothing ever has to reset it; the key expires after.
 */
import { type AtomicOperation, fieldNumber, replyNumber } from "../store/atomic.ts";
import type { StateStore } from "../store/state-store.ts";

/** The verdict of one add. */
export interface WindowVerdict {
  allowed: boolean;
  /** The window's total after this add (or as it stays, when refused). */
  used: number;
}

// An empty window admits one request even above the limit: otherwise a single
// request larger than a tokens-per-minute ceiling could never run.
const LUA = `
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
if used > 0 and used + amount > limit then
  return {0, used}
end
used = redis.call('HINCRBY', KEYS[1], 'used', amount)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, used}
`;

/** The counter step; ARGV = amount, limit, ttl (ms). Amounts are integers. */
export const ADD_WITHIN_LIMIT: AtomicOperation<WindowVerdict> = {
  name: "add_within_limit",
  lua: LUA,
  sql: "llm_state_op_add_within_limit",
  apply(fields, args) {
    const [amount, limit, ttlMs] = args.map(Number);
    const used = fieldNumber(fields, "used", 0);
    if (used > 0 && used + amount > limit) return { reply: [0, used] };
    return { fields: { used: String(used + amount) }, ttlMs, reply: [1, used + amount] };
  },
  decode: (reply) => ({ allowed: replyNumber(reply, 0) === 1, used: replyNumber(reply, 1) }),
};

/** Adds `amount` to the one-minute window of `now` at `key`, unless past `limit`. */
export async function addPerMinute(
  store: StateStore,
  key: string,
  amount: number,
  limit: number,
  now: number,
): Promise<WindowVerdict & { retryAfterMs: number }> {
  const minute = Math.floor(now / 60_000);
  const untilNext = (minute + 1) * 60_000 - now;
  const verdict = await store.run(ADD_WITHIN_LIMIT, `${key}:${minute}`, [
    Math.ceil(amount),
    limit,
    untilNext + 1_000,
  ]);
  return {
    allowed: verdict.allowed,
    used: verdict.used,
    retryAfterMs: verdict.allowed ? 0 : untilNext,
  };
}
