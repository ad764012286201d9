/**
 * The dev server's database when SUPABASE_DB_URL is unset: an in-memory
 * PGlite that applies the migrations and the seed before its first query.
 * Starting PGlite takes a few seconds, so callers may `warm()` it early.
 */
import type { Db, Row, SqlRunner } from "../../supabase/functions/_shared/store/db.ts";
import { applyMigrations } from "./migrate.ts";
import { pgliteDb } from "./pglite-db.ts";

/** An embedded database, migrated on first use. */
export interface EmbeddedDb extends Db {
  /** Starts PGlite and the migrations now; resolves when they are done. */
  warm(): Promise<void>;
}

/** A new in-memory, migrated and seeded PGlite. */
export function embeddedDb(): EmbeddedDb {
  const db = pgliteDb();
  let ready: Promise<void> | undefined;
  const prepare = () => ready ??= applyMigrations(db, { seed: true }).then(() => {});
  return {
    warm: prepare,
    async query<T extends Row>(sql: string, params?: readonly unknown[]) {
      await prepare();
      return db.query<T>(sql, params);
    },
    async transaction<T>(work: (tx: SqlRunner) => Promise<T>) {
      await prepare();
      return db.transaction(work);
    },
    async exec(script: string) {
      await prepare();
      return db.exec(script);
    },
    close: () => db.close(),
  };
}
