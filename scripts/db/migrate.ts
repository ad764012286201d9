/**
 * Applies supabase/migrations/*.sql in order (and optionally supabase/seed.sql)
 * to a database: the same files `supabase db push` applies, here for PGlite
 * in dev and tests and for a plain Postgres in CI. Every file is idempotent,
 * so applying again is harmless; applied versions are recorded all the same.
 *
 * `deno task migrate` applies them to SUPABASE_DB_URL (or `--db-url <url>`).
 */
import type { Db } from "../../supabase/functions/_shared/store/db.ts";
import { postgresDb } from "../../supabase/functions/_shared/store/postgres-db.ts";

const ROOT = new URL("../../supabase/", import.meta.url);

/** The migration files, oldest first. */
export function migrationFiles(): { version: string; path: string }[] {
  return [...Deno.readDirSync(new URL("migrations/", ROOT))]
    .filter((entry) => entry.isFile && entry.name.endsWith(".sql"))
    .map((entry) => ({
      version: entry.name.replace(/\.sql$/, ""),
      path: new URL(`migrations/${entry.name}`, ROOT).pathname,
    }))
    .sort((a, b) => a.version.localeCompare(b.version));
}

/** Applies every migration (and the seed when asked); returns the versions applied now. */
export async function applyMigrations(db: Db, options: { seed?: boolean } = {}): Promise<string[]> {
  await db.exec(`create table if not exists public.llm_schema_migrations (
    version text primary key, applied_at timestamptz not null default now())`);
  const applied = new Set(
    (await db.query<{ version: string }>("select version from public.llm_schema_migrations")).map((
      r,
    ) => r.version),
  );
  const now: string[] = [];
  for (const file of migrationFiles()) {
    if (applied.has(file.version)) continue;
    await db.exec(await Deno.readTextFile(file.path));
    await db.query(
      "insert into public.llm_schema_migrations (version) values ($1) on conflict do nothing",
      [file.version],
    );
    now.push(file.version);
  }
  if (options.seed) await db.exec(await Deno.readTextFile(new URL("seed.sql", ROOT).pathname));
  return now;
}

if (import.meta.main) {
  const flag = Deno.args.indexOf("--db-url");
  const url = flag >= 0 ? Deno.args[flag + 1] : Deno.env.get("SUPABASE_DB_URL");
  if (!url) {
    console.error("Set SUPABASE_DB_URL or pass --db-url <postgres url>.");
    Deno.exit(2);
  }
  const db = postgresDb(url, { max: 1 });
  try {
    const applied = await applyMigrations(db, { seed: Deno.args.includes("--seed") });
    console.log(applied.length ? `applied ${applied.join(", ")}` : "already up to date");
  } finally {
    await db.close();
  }
}
