/**
 * `Db` over PGlite, Postgres compiled to WebAssembly running in this process:
 * the embedded database of `deno task dev` and of the fast tests. It lives in
 * scripts/ so that no function bundle ever carries it.
 */
import type { Db, Row, SqlRunner } from "../../supabase/functions/_shared/store/db.ts";

/** A new in-memory (or `dataDir`) PGlite database; opened on first use. */
export function pgliteDb(dataDir?: string): Db {
  type PG = {
    query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
    exec(sql: string): Promise<unknown>;
    transaction<T>(
      work: (
        tx: { query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }> },
      ) => Promise<T>,
    ): Promise<T>;
    close(): Promise<void>;
  };
  let db: Promise<PG> | undefined;
  const open = () =>
    db ??= import("@electric-sql/pglite").then(async ({ PGlite }) => {
      const instance = new PGlite(dataDir);
      await instance.waitReady;
      return instance as unknown as PG;
    });
  return {
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      return (await (await open()).query<T>(sql, [...params])).rows;
    },
    async transaction<T>(work: (tx: SqlRunner) => Promise<T>) {
      return await (await open()).transaction((tx) =>
        work({
          query: async <R extends Row>(sql: string, params: readonly unknown[] = []) =>
            (await tx.query<R>(sql, [...params])).rows,
        })
      );
    },
    async exec(script: string) {
      await (await open()).exec(script);
    },
    async close() {
      if (db) await (await db).close();
      db = undefined;
    },
  };
}
