/**
 * The migrations: they apply from zero and again without error on PGlite and
 * on a real PostgreSQL, the seed matches the catalog, and row-level security
 * keeps each account's rows (and every key column) to itself.
 */
import assert from "node:assert/strict";
import { DEFAULT_USE_CASE_CHAINS } from "../supabase/functions/_shared/llm/catalog.ts";
import type { Db, SqlRunner } from "../supabase/functions/_shared/store/db.ts";
import { pgliteDb } from "../scripts/db/pglite-db.ts";
import { postgresDb } from "../supabase/functions/_shared/store/postgres-db.ts";
import { applyMigrations, migrationFiles } from "../scripts/db/migrate.ts";
import { availableKinds, freshDb } from "./helpers/test-db.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const USER_A = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";
const USER_B = "b1b1b1b1-b1b1-4b1b-8b1b-b1b1b1b1b1b1";

async function emptyDatabase(
  kind: "postgres" | "pglite",
): Promise<{ db: Db; close: () => Promise<void> }> {
  if (kind === "pglite") {
    const db = pgliteDb();
    return { db, close: () => db.close() };
  }
  const adminUrl = Deno.env.get("TEST_DATABASE_URL")!;
  const name = `llm_mig_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = postgresDb(adminUrl, { max: 1 });
  await admin.exec(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = postgresDb(url.toString(), { max: 2 });
  return {
    db,
    close: async () => {
      await db.close();
      await admin.exec(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}

for (const kind of availableKinds()) {
  Deno.test(`migrations (${kind}): apply from zero, then every file and the seed again, without error`, async () => {
    const { db, close } = await emptyDatabase(kind);
    try {
      const applied = await applyMigrations(db, { seed: true });
      assert.deepEqual(applied, migrationFiles().map((f) => f.version));
      // A second run of the raw files (what a retried deploy does) must also succeed.
      for (const file of migrationFiles()) await db.exec(await Deno.readTextFile(file.path));
      await db.exec(await Deno.readTextFile(new URL("../supabase/seed.sql", import.meta.url)));
      assert.deepEqual(await applyMigrations(db, { seed: true }), []);
      const tables = await db.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public' and table_name like 'llm_%' or table_name = 'agent_llm_preferences' order by 1",
      );
      for (
        const table of [
          "agent_llm_preferences",
          "llm_audit_log",
          "llm_budgets",
          "llm_jobs",
          "llm_provider_keys",
          "llm_providers",
          "llm_rate_limits",
          "llm_usage",
        ]
      ) {
        assert.ok(tables.some((t) => t.table_name === table), table);
      }
    } finally {
      await close();
    }
  });

  Deno.test(`migrations (${kind}): every gateway table has row-level security on`, async () => {
    const { db, close } = await freshDb(kind);
    try {
      const rows = await db.query<{ relname: string; relrowsecurity: boolean }>(
        "select relname, relrowsecurity from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r' and (relname like 'llm_%' or relname = 'agent_llm_preferences') and relname <> 'llm_schema_migrations'",
      );
      assert.ok(rows.length >= 9);
      for (const row of rows) assert.equal(row.relrowsecurity, true, row.relname);
    } finally {
      await close();
    }
  });

  Deno.test(`indexes (${kind}): a budget window's recorded spend is read from an index alone`, async () => {
    const { db, close } = await freshDb(kind);
    try {
      // Force the planner's hand: with a handful of rows a sequential scan would win on cost.
      const plan = await db.transaction(async (tx) => {
        await tx.query("set local enable_seqscan = off");
        await tx.query("set local enable_bitmapscan = off");
        return await tx.query<{ "QUERY PLAN": string }>(
          `explain select coalesce(sum(cost_usd), 0) from llm_usage
            where account_id = $1 and created_at >= now() - interval '1 day' and created_at < now()`,
          ["aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"],
        );
      });
      const text = plan.map((row) => Object.values(row)[0]).join("\n");
      assert.match(text, /Index Only Scan using llm_usage_account(_agent)?_spend_idx/, text);
    } finally {
      await close();
    }
  });

  Deno.test(`seed (${kind}): the global routing rows are the catalog's use-case chains`, async () => {
    const { db, close } = await freshDb(kind);
    try {
      const rows = await db.query<{ model: string; use_case: string[]; priority: number }>(
        "select model, use_case, priority from llm_providers where account_id is null order by priority",
      );
      for (const [useCase, chain] of Object.entries(DEFAULT_USE_CASE_CHAINS)) {
        const seeded = rows.filter((r) => r.use_case.includes(useCase)).map((r) => r.model);
        assert.deepEqual(seeded, [...chain], useCase);
      }
    } finally {
      await close();
    }
  });

  Deno.test(`row-level security (${kind}): a user reads their account's rows only, and never a key column`, async () => {
    const { db, close } = await freshDb(kind);
    try {
      await db.query(
        `insert into llm_usage (account_id, provider, model, status, input_tokens) values ($1, 'openai', 'gpt-4o-mini', 'ok', 10), ($2, 'openai', 'gpt-4o-mini', 'ok', 20)`,
        [ACCOUNT_A, ACCOUNT_B],
      );
      await db.query(
        `insert into llm_provider_keys (account_id, provider, ciphertext, key_version, key_hint) values ($1, 'openai', 'secret-ciphertext-a', 'v1', 'sk-aa…aaaa'), ($2, 'openai', 'secret-ciphertext-b', 'v1', 'sk-bb…bbbb')`,
        [ACCOUNT_A, ACCOUNT_B],
      );
      await db.query(
        `insert into llm_account_members (account_id, user_id, role) values ($1, $2, 'member')`,
        [ACCOUNT_B, USER_B],
      );
      await db.query(
        `insert into llm_audit_log (account_id, action) values ($1, 'provider_key.set'), ($2, 'provider_key.set')`,
        [ACCOUNT_A, ACCOUNT_B],
      );

      // User A: account from the JWT's app_metadata.
      const asA = (work: (tx: SqlRunner) => Promise<void>) =>
        asUser(db, { sub: USER_A, app_metadata: { account_id: ACCOUNT_A, role: "member" } }, work);
      await asA(async (tx) => {
        const usage = await tx.query<{ account_id: string }>("select account_id from llm_usage");
        assert.deepEqual(usage.map((r) => r.account_id), [ACCOUNT_A]);
        const keys = await tx.query<{ account_id: string; key_hint: string }>(
          "select account_id, key_hint from llm_provider_keys",
        );
        assert.deepEqual(keys, [{ account_id: ACCOUNT_A, key_hint: "sk-aa…aaaa" }]);
        // Members do not see the audit log.
        assert.equal((await tx.query("select * from llm_audit_log")).length, 0);
      });
      // The ciphertext column is not readable at all.
      await assert.rejects(
        asA((tx) => tx.query("select ciphertext from llm_provider_keys").then(() => {})),
        /permission denied/,
      );
      await assert.rejects(
        asA((tx) => tx.query("select * from llm_provider_keys").then(() => {})),
        /permission denied/,
      );
      // Writes are the service role's.
      await assert.rejects(
        asA((tx) =>
          tx.query("insert into llm_usage (account_id, status) values ($1, 'ok')", [ACCOUNT_A])
            .then(() => {})
        ),
        /permission denied|row-level security/,
      );
      // User B: account from the membership table; admin role for the audit log.
      await asUser(db, { sub: USER_B }, async (tx) => {
        const usage = await tx.query<{ account_id: string }>("select account_id from llm_usage");
        assert.deepEqual(usage.map((r) => r.account_id), [ACCOUNT_B]);
      });
      await asUser(
        db,
        { sub: USER_A, app_metadata: { account_id: ACCOUNT_A, role: "admin" } },
        async (tx) => {
          const audit = await tx.query<{ account_id: string }>(
            "select account_id from llm_audit_log",
          );
          assert.deepEqual(audit.map((r) => r.account_id), [ACCOUNT_A]);
        },
      );
      // The anon role sees nothing.
      await assertAnonSeesNothing(db);
    } finally {
      await close();
    }
  });
}

/** Runs `work` as the `authenticated` role with `claims`, as PostgREST would. */
async function asUser(
  db: Db,
  claims: Record<string, unknown>,
  work: (tx: SqlRunner) => Promise<void>,
) {
  await db.transaction(async (tx) => {
    await tx.query("select set_config('request.jwt.claims', $1, true)", [
      JSON.stringify({ role: "authenticated", ...claims }),
    ]);
    await tx.query("set local role authenticated");
    await work(tx);
  });
}

async function assertAnonSeesNothing(db: Db) {
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query("set local role anon");
      await tx.query("select * from llm_usage");
    }),
    /permission denied/,
  );
}
