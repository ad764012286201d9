/**
 * The ledger of one budget window, a hash in the StateStore: `spent` (settled
 * cost), `reserved` (estimates of requests in flight) and `seeded` (whether
 * the spend recorded in llm_usage before this ledger existed was added).
 * Amounts are integer nano-dollars, so Redis's HINCRBY and Lua's doubles add
 * them exactly. Reserve, seed and settle are each one atomic step.
 */
import { type AtomicOperation, fieldNumber, replyNumber } from "../store/atomic.ts";
import type { StateStore } from "../store/state-store.ts";

/** Nano-dollars per dollar. */
export const NANO_USD = 1_000_000_000;

/** Dollars as whole nano-dollars (costs round up: a budget must not under-count). */
export function toNano(usd: number): number {
  return Math.max(0, Math.ceil(usd * NANO_USD - 1e-6));
}

/** The ledger's totals, in nano-dollars. */
export interface LedgerTotals {
  spent: number;
  reserved: number;
}

/** What a reservation attempt found. */
export type ReserveVerdict =
  | ({ status: "reserved" } & LedgerTotals)
  | ({ status: "over" } & LedgerTotals)
  | { status: "unseeded" };

// A request is admitted while settled + reserved spend is below the limit, so
// concurrent requests overshoot it by at most the one request that crossed it.
const RESERVE_LUA = `
local s = redis.call('HMGET', KEYS[1], 'seeded', 'spent', 'reserved')
if not s[1] then
  return {-1, 0, 0}
end
local spent = tonumber(s[2]) or 0
local reserved = tonumber(s[3]) or 0
if spent + reserved >= tonumber(ARGV[2]) then
  return {0, spent, reserved}
end
reserved = redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])
return {1, spent, reserved}
`;

/** Reserve; ARGV = amount, limit. */
export const RESERVE: AtomicOperation<ReserveVerdict> = {
  name: "budget_reserve",
  lua: RESERVE_LUA,
  sql: "llm_state_op_budget_reserve",
  apply(fields, args) {
    const [amount, limit] = args.map(Number);
    if (fields?.seeded === undefined) return { reply: [-1, 0, 0] };
    const spent = fieldNumber(fields, "spent", 0);
    const reserved = fieldNumber(fields, "reserved", 0);
    if (spent + reserved >= limit) return { reply: [0, spent, reserved] };
    return {
      fields: { ...fields, reserved: String(reserved + amount) },
      reply: [1, spent, reserved + amount],
    };
  },
  decode(reply) {
    const code = replyNumber(reply, 0);
    if (code === -1) return { status: "unseeded" };
    const totals = { spent: replyNumber(reply, 1), reserved: replyNumber(reply, 2) };
    return { status: code === 1 ? "reserved" : "over", ...totals };
  },
};

// Only the first seeder adds the recorded spend; the others find it done.
const SEED_LUA = `
if redis.call('HSETNX', KEYS[1], 'seeded', '1') == 1 then
  redis.call('HINCRBY', KEYS[1], 'spent', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
local s = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
return {tonumber(s[1]) or 0, tonumber(s[2]) or 0}
`;

/** Seed; ARGV = spend already recorded, ttl (ms). */
export const SEED: AtomicOperation<LedgerTotals> = {
  name: "budget_seed",
  lua: SEED_LUA,
  sql: "llm_state_op_budget_seed",
  apply(fields, args) {
    const [spend, ttlMs] = args.map(Number);
    const spent = fieldNumber(fields, "spent", 0);
    const reserved = fieldNumber(fields, "reserved", 0);
    if (fields?.seeded !== undefined) return { reply: [spent, reserved] };
    return {
      fields: { ...fields, seeded: "1", spent: String(spent + spend) },
      ttlMs,
      reply: [spent + spend, reserved],
    };
  },
  decode: (reply) => ({ spent: replyNumber(reply, 0), reserved: replyNumber(reply, 1) }),
};

// A ledger that vanished (evicted, flushed) is not recreated: llm_usage has the
// request, and the next seed counts it from there.
const SETTLE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1, 0, 0}
end
local reserved = redis.call('HINCRBY', KEYS[1], 'reserved', 0 - tonumber(ARGV[1]))
if reserved < 0 then
  redis.call('HSET', KEYS[1], 'reserved', 0)
  reserved = 0
end
local spent = redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
return {1, spent, reserved}
`;

/** Settle; ARGV = amount reserved, actual cost (0 releases). */
export const SETTLE: AtomicOperation<LedgerTotals | undefined> = {
  name: "budget_settle",
  lua: SETTLE_LUA,
  sql: "llm_state_op_budget_settle",
  apply(fields, args) {
    const [held, actual] = args.map(Number);
    if (!fields) return { reply: [-1, 0, 0] };
    const reserved = Math.max(0, fieldNumber(fields, "reserved", 0) - held);
    const spent = fieldNumber(fields, "spent", 0) + actual;
    return {
      fields: { ...fields, reserved: String(reserved), spent: String(spent) },
      reply: [1, spent, reserved],
    };
  },
  decode: (reply) =>
    replyNumber(reply, 0) === -1
      ? undefined
      : { spent: replyNumber(reply, 1), reserved: replyNumber(reply, 2) },
};

/** The ledger operations on one store. */
export class BudgetLedger {
  constructor(private readonly store: StateStore) {}

  /** Holds `amount` unless the window is already at `limit`. */
  reserve(key: string, amount: number, limit: number): Promise<ReserveVerdict> {
    return this.store.run(RESERVE, key, [Math.round(amount), Math.round(limit)]);
  }

  /** Adds the spend recorded before the ledger existed, once per ledger; it lives `ttlMs`. */
  seed(key: string, spent: number, ttlMs: number): Promise<LedgerTotals> {
    return this.store.run(SEED, key, [Math.round(spent), Math.max(1, Math.ceil(ttlMs))]);
  }

  /** Swaps a hold of `held` for the actual cost; undefined when the ledger is gone. */
  settle(key: string, held: number, actual: number): Promise<LedgerTotals | undefined> {
    return this.store.run(SETTLE, key, [Math.round(held), Math.round(actual)]);
  }
}
