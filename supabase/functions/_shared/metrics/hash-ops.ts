/**
 * Two atomic operations metrics need on a hash: add to many integer fields
 * at once (an isolate's batch of counts), and read every field.
 */
import { type AtomicOperation, type HashFields, replyNumber } from "../store/atomic.ts";

// ARGV = ttl (ms), then field, amount, field, amount …
const ADD_LUA = `
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return {1}
`;

/** Adds integer amounts to fields; ARGV = ttl ms, then field/amount pairs. */
export const ADD_TO_FIELDS: AtomicOperation<void> = {
  name: "add_to_fields",
  lua: ADD_LUA,
  sql: "llm_state_op_add_to_fields",
  apply(fields, args) {
    const next: HashFields = { ...fields };
    for (let i = 1; i < args.length; i += 2) {
      next[args[i]] = String(Number(next[args[i]] ?? 0) + Number(args[i + 1]));
    }
    return { fields: next, ttlMs: Number(args[0]), reply: [1] };
  },
  decode: (reply) => void replyNumber(reply, 0),
};

/** Every field of a hash, as numbers (no ARGV). */
export const READ_FIELDS: AtomicOperation<Record<string, number>> = {
  name: "read_fields",
  lua: "return redis.call('HGETALL', KEYS[1])",
  sql: "llm_state_op_read_fields",
  apply(fields) {
    return { reply: Object.entries(fields ?? {}).flat() };
  },
  decode(reply) {
    const out: Record<string, number> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = Number(reply[i + 1]);
    return out;
  },
};
