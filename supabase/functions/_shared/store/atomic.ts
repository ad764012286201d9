/**
 * Atomic operations on one hash: the unit of consistency of the StateStore.
 * Each operation is written three times: as a Lua script (run by Redis as one
 * command, so isolates never interleave inside it), as a SQL function in the
 * state-store migration (run by Postgres with the key's row locked), and as
 * the same step over a hash in memory (the embedded store). The contract
 * tests run all of them on the same inputs and compare the replies, which
 * keeps the three in step.
 */

/** A hash's fields as Redis stores them: strings. */
export type HashFields = Record<string, string>;

/** What a script answers: a flat list of integers and strings, as Lua returns them to Redis. */
export type AtomicReply = (number | string)[];

/** An argument of an operation: Redis receives every argument as a string. */
export type AtomicArg = string | number;

/** The memory form's result: the hash after the step, its expiry, and the reply. */
export interface AtomicStep {
  /** The hash afterwards; `null` deletes the key; omitted leaves it as it was. */
  fields?: HashFields | null;
  /** A new time to live in ms (PEXPIRE), counted from the step. */
  ttlMs?: number;
  reply: AtomicReply;
}

/** One atomic step on the hash at one key. */
export interface AtomicOperation<R> {
  /** For logs and metrics. */
  readonly name: string;
  /** Lua over the hash at KEYS[1] with ARGV; must return a flat array of integers or strings. */
  readonly lua: string;
  /**
   * The SQL function (in supabase/migrations, named `llm_state_op_…`) that is
   * this step for the Postgres store: `(fields jsonb, args text[]) returns
   * jsonb`, answering `{reply, fields?, ttl?}` exactly as `apply` answers.
   */
  readonly sql: string;
  /**
   * The same step in memory, on the hash as it is now (undefined when absent
   * or expired). `fields` is the store's own (frozen) hash: a step returns a
   * new one in `fields` and never changes it.
   */
  apply(fields: Readonly<HashFields> | undefined, args: readonly string[]): AtomicStep;
  /** The typed result from the reply (Redis and memory give the same reply). */
  decode(reply: AtomicReply): R;
}

/** A reply entry as a number (REST clients may hand integers back as strings). */
export function replyNumber(reply: AtomicReply, index: number): number {
  const value = Number(reply[index]);
  if (!Number.isFinite(value)) throw new TypeError(`reply[${index}] is not a number`);
  return value;
}

/** A field of `fields` as a number, or `fallback` when missing. */
export function fieldNumber(
  fields: HashFields | undefined,
  name: string,
  fallback: number,
): number {
  const raw = fields?.[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? value : fallback;
}
