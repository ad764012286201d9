/**
 * Databases for tests. With TEST_DATABASE_URL (set by `deno task test`, which
 * starts a throwaway PostgreSQL) each test gets its own database cloned from a
 * migrated, seeded template; without it, an in-process PGlite (slower to start).
 */
import type { Db } from "../../supabase/functions/_shared/store/db.ts";
import { postgresDb } from "../../supabase/functions/_shared/store/postgres-db.ts";
import { pgliteDb } from "../../scripts/db/pglite-db.ts";
import { applyMigrations, migrationFiles } from "../../scripts/db/migrate.ts";

/** A database for one test. */
export interface TestDb {
  db: Db;
  /** Its URL when it is a real Postgres (for subprocesses and second connections). */
  url?: string;
  kind: "postgres" | "pglite";
  close(): Promise<void>;
}

/** The template's name carries a hash of the migrations and seed, so a changed migration gets a new template. */
async function templateName(): Promise<string> {
  const parts = [
    ...migrationFiles().map((f) => Deno.readTextFileSync(f.path)),
    Deno.readTextFileSync(new URL("../../supabase/seed.sql", import.meta.url)),
  ];
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(parts.join("\n-- next --\n")),
  );
  return `llm_test_template_${
    [...new Uint8Array(digest).slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

let template: Promise<string> | undefined;

async function ensureTemplate(adminUrl: string): Promise<string> {
  const TEMPLATE = await templateName();
  const admin = postgresDb(adminUrl, { max: 1 });
  try {
    const exists = await admin.query("select 1 from pg_database where datname = $1", [TEMPLATE]);
    if (exists.length === 0) {
      await admin.exec(`create database ${TEMPLATE}`);
      const db = postgresDb(withDatabase(adminUrl, TEMPLATE), { max: 1 });
      try {
        await applyMigrations(db, { seed: true });
      } finally {
        await db.close();
      }
    }
  } finally {
    await admin.close();
  }
  return TEMPLATE;
}

/** A fresh migrated and seeded database: Postgres when the suite provides one, else PGlite. */
export async function freshDb(kind: "postgres" | "pglite" | "any" = "any"): Promise<TestDb> {
  const adminUrl = Deno.env.get("TEST_DATABASE_URL");
  if (kind === "postgres" && !adminUrl) {
    throw new Error("TEST_DATABASE_URL is not set: run `deno task test`");
  }
  if (adminUrl && kind !== "pglite") {
    template ??= ensureTemplate(adminUrl);
    const TEMPLATE = await template;
    const name = `llm_test_${crypto.randomUUID().replaceAll("-", "")}`;
    const admin = postgresDb(adminUrl, { max: 1 });
    await admin.exec(`create database ${name} template ${TEMPLATE}`);
    const url = withDatabase(adminUrl, name);
    const db = postgresDb(url, { max: 10 });
    return {
      db,
      url,
      kind: "postgres",
      async close() {
        await db.close();
        await admin.exec(`drop database if exists ${name} with (force)`);
        await admin.close();
      },
    };
  }
  const db = pgliteDb();
  await applyMigrations(db, { seed: true });
  return { db, kind: "pglite", close: () => db.close() };
}

/** The database kinds this run can test: PGlite always, Postgres when the suite started one. */
export function availableKinds(): ("postgres" | "pglite")[] {
  return Deno.env.get("TEST_DATABASE_URL") ? ["pglite", "postgres"] : ["pglite"];
}
