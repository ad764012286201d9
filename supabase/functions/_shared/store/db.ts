/**
 * The database as the gateway sees it: parameterized statements (`$1, $2 …`),
 * transactions and scripts. Two implementations keep one SQL dialect: real
 * Postgres through `postgres` (production, CI) and PGlite in process (dev and
 * fast tests, provided by scripts/ so it never ships in a function bundle).
 */

/** A row as returned by a driver. */
export type Row = Record<string, unknown>;

/** What code may do with a connection or a transaction. */
export interface SqlRunner {
  /** Runs one statement with `$n` parameters and returns its rows. */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** A database. */
export interface Db extends SqlRunner {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Runs a multi-statement script without parameters (migrations, seeds). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A `$n` parameter for a JSON value: serialized here and cast with
 * `$n::text::jsonb` in SQL. (A bare `$n::jsonb` lets the postgres driver see a
 * jsonb parameter and serialize the string again, storing a JSON string.)
 */
export function jsonParam(value: unknown): string {
  return JSON.stringify(value);
}
