/**
 * `Db` over a real Postgres through the `postgres` driver. Created lazily:
 * the driver is imported and the pool opened on the first query, so a
 * function that never touches the database pays nothing at boot.
 * `prepare: false` keeps it usable through Supabase's transaction pooler.
 */
import type { Db, Row, SqlRunner } from "./db.ts";

type Sql = {
  unsafe(query: string, params?: unknown[]): Promise<Row[]> & { simple(): Promise<Row[]> };
  begin<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  end(options?: { timeout?: number }): Promise<void>;
};

/** Pool settings. */
export interface PostgresDbOptions {
  /** Connections in the pool (edge isolates want few). */
  max?: number;
  idleTimeoutSeconds?: number;
  connectTimeoutSeconds?: number;
}

/** A `Db` on the Postgres at `url`. */
export function postgresDb(url: string, options: PostgresDbOptions = {}): Db {
  let sql: Promise<Sql> | undefined;
  const connect = () =>
    sql ??= import("postgres").then(({ default: postgres }) =>
      postgres(url, {
        prepare: false,
        max: options.max ?? 3,
        idle_timeout: options.idleTimeoutSeconds ?? 20,
        connect_timeout: options.connectTimeoutSeconds ?? 10,
        onnotice: () => {},
      }) as unknown as Sql
    );
  // The driver's result is an Array subclass with extra fields; callers get plain arrays, as from PGlite.
  const runner = (client: Sql): SqlRunner => ({
    query: async <T extends Row>(text: string, params: readonly unknown[] = []) =>
      [...await client.unsafe(text, [...params])] as T[],
  });
  return {
    async query<T extends Row>(text: string, params: readonly unknown[] = []) {
      return [...await (await connect()).unsafe(text, [...params])] as T[];
    },
    async transaction<T>(work: (tx: SqlRunner) => Promise<T>) {
      return await (await connect()).begin((tx) => work(runner(tx)));
    },
    async exec(script: string) {
      await (await connect()).unsafe(script).simple();
    },
    async close() {
      if (sql) await (await sql).end({ timeout: 5 });
      sql = undefined;
    },
  };
}
