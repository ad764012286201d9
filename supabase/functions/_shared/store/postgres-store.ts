/**
 * The distributed StateStore in the project's own Postgres (table `llm_state`,
 * migration 20261201000200_llm_state_store.sql): every isolate of every
 * function shares it, and no Redis is needed. Atomic operations run as the
 * SQL functions named by `AtomicOperation.sql`; a step that writes runs with
 * its key's row locked. Commands issued in the same tick travel together, as one
 * `llm_state_run` call: one round trip, as Upstash's auto-pipelining sends
 * Redis commands, so a guard step's concurrent checks cost one trip. One
 * batch is in flight at a time: what is issued meanwhile goes in the next,
 * so under load many requests share a transaction (and take a hot row's
 * lock once) instead of queueing one small transaction each, and commands
 * reach the database in the order they were issued.
 */
import type { AtomicArg, AtomicOperation, AtomicReply } from "./atomic.ts";
import type { SqlRunner } from "./db.ts";
import { dbErrorCode, sqlState } from "./db-errors.ts";
import { NearCache } from "./near-cache.ts";
import type { StateStore } from "./state-store.ts";
import { StoreUnavailableError } from "./store-error.ts";

/** How to use the database. */
export interface PostgresStateStoreOptions {
  /**
   * How long this isolate reuses a value read with `get` before asking the
   * database again (default 0: never); atomic operations never use it.
   */
  nearCacheMs?: number;
}

/** One command of `llm_state_run`; the key is always second (the function orders by it). */
type Command =
  | ["get", string]
  | ["set" | "setnx", string, string | undefined, number]
  | ["del", string]
  | ["run", string, string, string[]];

interface Pending {
  command: Command;
  /** For the error message: the command or the operation's name. */
  what: string;
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

const RUN = "select public.llm_state_run($1::text::jsonb)::text as replies";

/** Most commands in one transaction, so that none holds its rows' locks for long. */
const MAX_BATCH = 500;

/** SQLSTATEs of a database without the state-store migration: say which one is missing. */
const NOT_MIGRATED = new Set(["42P01", "42883"]);

/** StateStore on Postgres. */
export class PostgresStateStore implements StateStore {
  readonly kind = "postgres";
  readonly #near: NearCache;
  #queue: Pending[] = [];
  /** A batch is scheduled or in flight; commands issued now wait for the next one. */
  #busy = false;

  constructor(private readonly db: SqlRunner, options: PostgresStateStoreOptions = {}) {
    this.#near = new NearCache(options.nearCacheMs ?? 0);
  }

  async get<T>(key: string): Promise<T | undefined> {
    let raw = this.#near.read(key);
    if (raw === undefined) {
      raw = await this.#send(["get", key], "get") as string | null;
      this.#near.remember(key, raw);
    }
    return raw === null ? undefined : JSON.parse(raw) as T;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    const raw = JSON.stringify(value);
    await this.#send(["set", key, raw, ttlMs], "set");
    this.#near.remember(key, ttlMs > 0 && raw !== undefined ? raw : null);
  }

  async setIfAbsent(key: string, value: unknown, ttlMs: number): Promise<boolean> {
    return await this.#send(["setnx", key, JSON.stringify(value), ttlMs], "set") === true;
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.#near.forget(key);
    await Promise.all(keys.map((key) => this.#send(["del", key], "del")));
  }

  async run<R>(
    operation: AtomicOperation<R>,
    key: string,
    args: readonly AtomicArg[],
  ): Promise<R> {
    const argv: string[] = new Array(args.length);
    for (let i = 0; i < args.length; i++) argv[i] = String(args[i]);
    const reply = await this.#send(["run", key, operation.sql, argv], operation.name);
    return operation.decode(reply as AtomicReply);
  }

  /** Queues `command` for the next batch, which leaves once this tick's commands are in. */
  #send(command: Command, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ command, what, resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        void nextTicks().then(() => this.#drain());
      }
    });
  }

  /** Sends batches one after another until nothing is waiting. */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#flush(this.#queue.splice(0, MAX_BATCH));
    } finally {
      this.#busy = false;
    }
  }

  async #flush(batch: Pending[]): Promise<void> {
    try {
      const replies = await this.#call(batch.map((pending) => pending.command));
      for (let i = 0; i < batch.length; i++) batch[i].resolve(replies[i]);
    } catch (error) {
      // A statement the server refused was rolled back whole: send each command on its own, in
      // order, so only the one at fault fails. A connection that broke may have committed: no resend.
      if (batch.length > 1 && sqlState(error) !== undefined) {
        for (const pending of batch) {
          try {
            pending.resolve((await this.#call([pending.command]))[0]);
          } catch (alone) {
            pending.reject(failure(pending.what, alone));
          }
        }
        return;
      }
      for (const pending of batch) pending.reject(failure(pending.what, error));
    }
  }

  async #call(commands: Command[]): Promise<unknown[]> {
    const rows = await this.db.query<{ replies: string }>(RUN, [JSON.stringify(commands)]);
    return JSON.parse(rows[0].replies) as unknown[];
  }
}

/**
 * Two microtask turns, as Upstash's auto-pipelining waits: commands issued by
 * code that is itself one `await` deep (a guard's async wrapper) still join.
 */
async function nextTicks(): Promise<void> {
  await Promise.resolve();
  await Promise.resolve();
}

/** The error a command rejects with: its SQLSTATE or driver code, never the message (it quotes values). */
function failure(what: string, error: unknown): StoreUnavailableError {
  const code = dbErrorCode(error);
  const hint = NOT_MIGRATED.has(code)
    ? " (is migration 20261201000200_llm_state_store.sql applied?)"
    : "";
  return new StoreUnavailableError(`postgres ${what} failed: ${code}${hint}`);
}
