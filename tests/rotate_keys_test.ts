/**
 * scripts/rotate-keys.ts: re-encryption of BYOK keys under the active master
 * key, on PGlite always and on a real Postgres when TEST_DATABASE_URL is set
 * (a database of its own is created there and dropped afterwards).
 */
import assert from "node:assert/strict";
import type { Db, Row, SqlRunner } from "../supabase/functions/_shared/store/db.ts";
import { postgresDb } from "../supabase/functions/_shared/store/postgres-db.ts";
import { KeyVault } from "../supabase/functions/_shared/security/key-vault.ts";
import {
  base64UrlDecode,
  base64UrlEncode,
} from "../supabase/functions/_shared/security/base64url.ts";
import { pgliteDb } from "../scripts/db/pglite-db.ts";
import { applyMigrations } from "../scripts/db/migrate.ts";
import { rotateKeys } from "../scripts/rotate-keys.ts";
import { freePort, ROOT, runtimeOnlyEnv } from "./helpers/process.ts";

const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL");

function randomKeyBase64(bytes = 32): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}

const K1 = randomKeyBase64();
const K2 = randomKeyBase64();
const ONLY_V1 = `v1:${K1}`;
const BOTH = `v1:${K1},v2:${K2}`;

interface KeyRow extends Row {
  account_id: string;
  provider: string;
  ciphertext: string;
  key_version: string;
  key_hint: string;
  created_at: string;
  updated_at: string;
}

interface Seeded {
  accountId: string;
  provider: string;
  plaintext: string;
}

async function rows(db: Db): Promise<Map<string, KeyRow>> {
  const list = await db.query<KeyRow>(
    `select account_id::text as account_id, provider, ciphertext, key_version, key_hint,
            created_at::text as created_at, updated_at::text as updated_at
       from public.llm_provider_keys`,
  );
  return new Map(list.map((r) => [`${r.account_id}/${r.provider}`, r]));
}

async function insertKey(
  db: Db,
  vault: KeyVault,
  accountId: string,
  provider: string,
  plaintext: string,
  alter: (ciphertext: string) => string = (c) => c,
  version?: string,
): Promise<void> {
  const sealed = await vault.encrypt(plaintext, accountId, provider);
  await db.query(
    `insert into public.llm_provider_keys (account_id, provider, ciphertext, key_version, key_hint)
     values ($1::uuid, $2, $3, $4, $5)`,
    [accountId, provider, alter(sealed.ciphertext), version ?? sealed.version, `hint-${provider}`],
  );
}

function flipLastByte(ciphertext: string): string {
  const bytes = base64UrlDecode(ciphertext);
  bytes[bytes.length - 1] ^= 0x80;
  return base64UrlEncode(bytes);
}

/**
 * Good rows under v1 for three accounts and two providers, one row already
 * under v2, a tampered row and a row under a version no vault knows.
 */
async function rotationScenario(db: Db): Promise<void> {
  await db.query("delete from public.llm_provider_keys");
  const v1 = await KeyVault.fromSettings(ONLY_V1, undefined);
  const both = await KeyVault.fromSettings(BOTH, "v2");
  const good: Seeded[] = [];
  for (let a = 0; a < 3; a++) {
    const accountId = crypto.randomUUID();
    for (const provider of ["openai", "anthropic"]) {
      const plaintext = `sk-${provider}-${crypto.randomUUID()}`;
      await insertKey(db, v1, accountId, provider, plaintext);
      good.push({ accountId, provider, plaintext });
    }
  }
  const current: Seeded = {
    accountId: crypto.randomUUID(),
    provider: "openai",
    plaintext: "sk-current-0123456789abcdef",
  };
  await insertKey(db, both, current.accountId, current.provider, current.plaintext);
  const tampered = { accountId: crypto.randomUUID(), provider: "groq" };
  await insertKey(
    db,
    v1,
    tampered.accountId,
    tampered.provider,
    "gsk_tampered0123456789",
    flipLastByte,
  );
  const orphan = { accountId: crypto.randomUUID(), provider: "xai" };
  await insertKey(
    db,
    v1,
    orphan.accountId,
    orphan.provider,
    "xai-orphan0123456789",
    undefined,
    "v0",
  );
  const before = await rows(db);

  const lines: string[] = [];
  const first = await rotateKeys(db, both, { batchSize: 2, log: (line) => lines.push(line) });
  assert.equal(first.rotated, good.length);
  assert.equal(first.alreadyCurrent, 1);
  assert.equal(first.failed, 2);
  assert.deepEqual(
    first.failures.map((f) => [f.accountId, f.provider, f.version, f.reason]).sort(),
    [
      [tampered.accountId, "groq", "v1", "tampered"],
      [orphan.accountId, "xai", "v0", "unknown_version"],
    ].sort(),
  );

  const after = await rows(db);
  assert.equal(after.size, before.size);
  for (const seeded of good) {
    const key = `${seeded.accountId}/${seeded.provider}`;
    const row = after.get(key)!;
    assert.equal(row.key_version, "v2", key);
    assert.notEqual(row.ciphertext, before.get(key)!.ciphertext);
    assert.equal(row.key_hint, before.get(key)!.key_hint);
    assert.equal(row.created_at, before.get(key)!.created_at);
    assert.equal(
      await both.decrypt(row.ciphertext, row.key_version, seeded.accountId, seeded.provider),
      seeded.plaintext,
    );
  }
  // Rows it could not decrypt, and the one already current, are exactly as they were.
  for (const key of [tampered, orphan, current].map((r) => `${r.accountId}/${r.provider}`)) {
    assert.deepEqual(after.get(key), before.get(key), key);
  }

  // The report names the failed rows, never key material.
  assert.equal(lines.length, 2);
  assert.ok(lines.some((l) => l.includes(tampered.accountId) && l.includes("groq")));
  assert.ok(lines.some((l) => l.includes(orphan.accountId) && l.includes("xai")));
  const report = lines.join("\n");
  for (const row of before.values()) assert.ok(!report.includes(row.ciphertext));
  for (const secret of [K1, K2, "tampered0123", "orphan0123", ...good.map((g) => g.plaintext)]) {
    assert.ok(!report.includes(secret));
  }

  // Idempotent: nothing left to rotate; the bad rows fail again, untouched.
  const second = await rotateKeys(db, both, { batchSize: 2 });
  assert.deepEqual(
    [second.rotated, second.alreadyCurrent, second.failed],
    [0, good.length + 1, 2],
  );
  assert.deepEqual(await rows(db), after);

  // v1 can now be retired: a vault with only v2 decrypts every good row.
  const onlyV2 = await KeyVault.fromSettings(`v2:${K2}`, undefined);
  for (const seeded of [...good, current]) {
    const row = after.get(`${seeded.accountId}/${seeded.provider}`)!;
    assert.equal(
      await onlyV2.decrypt(row.ciphertext, row.key_version, seeded.accountId, seeded.provider),
      seeded.plaintext,
    );
  }
}

/** A `Db` whose statements inside transactions each wait a little, so that runs interleave. */
function slowed(db: Db, ms: number): Db {
  const pause = () => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    query: <T extends Row>(sql: string, params?: readonly unknown[]) => db.query<T>(sql, params),
    transaction: <T>(work: (tx: SqlRunner) => Promise<T>) =>
      db.transaction((tx) =>
        work({
          query: async <R extends Row>(sql: string, params?: readonly unknown[]) => {
            await pause();
            return tx.query<R>(sql, params);
          },
        })
      ),
    exec: (script: string) => db.exec(script),
    close: () => db.close(),
  };
}

/**
 * Two rotations at once. `a` and `b` are separate connections on Postgres;
 * on PGlite they are the same single-session database, where transactions
 * cannot run concurrently (PGlite queues them), so there this only checks
 * that back-to-back runs add up — SKIP LOCKED is exercised on Postgres.
 */
async function concurrentScenario(a: Db, b: Db, expectBothWorked: boolean): Promise<void> {
  await a.query("delete from public.llm_provider_keys");
  const v1 = await KeyVault.fromSettings(ONLY_V1, undefined);
  const seeded: Seeded[] = [];
  for (let i = 0; i < 30; i++) {
    const accountId = crypto.randomUUID();
    const provider = i % 2 ? "openai" : "anthropic";
    const plaintext = `sk-concurrent-${i}-${crypto.randomUUID()}`;
    await insertKey(a, v1, accountId, provider, plaintext);
    seeded.push({ accountId, provider, plaintext });
  }
  const both = await KeyVault.fromSettings(BOTH, "v2");
  const [one, two] = await Promise.all([
    rotateKeys(slowed(a, 3), both, { batchSize: 3 }),
    rotateKeys(slowed(b, 3), both, { batchSize: 3 }),
  ]);
  // Each row exactly once: a row rotated twice would push the sum past 30.
  assert.equal(one.rotated + two.rotated, seeded.length);
  assert.equal(one.failed + two.failed, 0);
  if (expectBothWorked) {
    assert.ok(one.rotated > 0 && two.rotated > 0, `${one.rotated} + ${two.rotated}`);
  }
  const after = await rows(a);
  for (const s of seeded) {
    const row = after.get(`${s.accountId}/${s.provider}`)!;
    assert.equal(row.key_version, "v2");
    assert.equal(await both.decrypt(row.ciphertext, "v2", s.accountId, s.provider), s.plaintext);
  }
}

/** Many failing rows with the smallest batch: the run still ends, each counted once. */
async function failingRowsScenario(db: Db): Promise<void> {
  await db.query("delete from public.llm_provider_keys");
  const v1 = await KeyVault.fromSettings(ONLY_V1, undefined);
  for (let i = 0; i < 5; i++) {
    await insertKey(db, v1, crypto.randomUUID(), "openai", `sk-bad-${i}-0123456789`, flipLastByte);
  }
  await insertKey(db, v1, crypto.randomUUID(), "openai", "sk-good-0123456789");
  const both = await KeyVault.fromSettings(BOTH, "v2");
  const result = await rotateKeys(db, both, { batchSize: 1 });
  assert.deepEqual([result.rotated, result.failed], [1, 5]);
}

Deno.test("rotate keys: on PGlite", async (t) => {
  const db = pgliteDb();
  try {
    await applyMigrations(db);
    await t.step(
      "rotates v1 rows to v2, leaves bad rows, is idempotent",
      () => rotationScenario(db),
    );
    await t.step("failing rows cannot make the loop spin", () => failingRowsScenario(db));
    await t.step(
      "two runs at once add up (serialized by PGlite)",
      () => concurrentScenario(db, db, false),
    );
  } finally {
    await db.close();
  }
});

/** A database of its own on the TEST_DATABASE_URL server, dropped by `drop()`. */
async function scratchDatabase(baseUrl: string) {
  const admin = postgresDb(baseUrl, { max: 1 });
  const name = `rotate_test_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  await admin.query(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const opened: Db[] = [];
  const open = (max: number) => {
    const db = postgresDb(url.toString(), { max });
    opened.push(db);
    return db;
  };
  return {
    url: url.toString(),
    open,
    async drop() {
      for (const db of opened) await db.close();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}

async function runScript(env: Record<string, string>, args: string[] = []) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "scripts/rotate-keys.ts", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...runtimeOnlyEnv(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test({
  name: "rotate keys: on Postgres (TEST_DATABASE_URL)",
  ignore: !TEST_DATABASE_URL,
  async fn(t) {
    const scratch = await scratchDatabase(TEST_DATABASE_URL!);
    try {
      const db = scratch.open(4);
      await applyMigrations(db);
      await t.step(
        "rotates v1 rows to v2, leaves bad rows, is idempotent",
        () => rotationScenario(db),
      );
      await t.step("failing rows cannot make the loop spin", () => failingRowsScenario(db));
      await t.step(
        "two concurrent runs rotate each row exactly once",
        () => concurrentScenario(scratch.open(2), scratch.open(2), true),
      );
      await t.step("the script rotates, prints a summary and fails on a bad row", async () => {
        await db.query("delete from public.llm_provider_keys");
        const v1 = await KeyVault.fromSettings(ONLY_V1, undefined);
        const accountId = crypto.randomUUID();
        await insertKey(db, v1, accountId, "openai", "sk-script-0123456789");
        const badAccount = crypto.randomUUID();
        await insertKey(db, v1, badAccount, "openai", "sk-script-bad-0123456789", flipLastByte);
        const env = { LLM_KEY_ENCRYPTION_KEYS: BOTH, LLM_KEY_ENCRYPTION_ACTIVE: "v2" };
        const run = await runScript({ ...env, SUPABASE_DB_URL: scratch.url });
        assert.equal(run.code, 1, run.stderr);
        assert.equal(
          run.stdout.trim(),
          "rotate-keys: active v2: rotated 1, already current 0, failed 1",
        );
        assert.match(run.stderr, new RegExp(`${badAccount}.*tampered`));
        for (const secret of [K1, K2, "sk-script"]) {
          assert.ok(!(run.stdout + run.stderr).includes(secret));
        }
        // Fixed by deleting the bad row: the next run (through --db-url) succeeds.
        await db.query("delete from public.llm_provider_keys where account_id = $1::uuid", [
          badAccount,
        ]);
        const again = await runScript(env, ["--db-url", scratch.url]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(
          again.stdout.trim(),
          "rotate-keys: active v2: rotated 0, already current 1, failed 0",
        );
      });
    } finally {
      await scratch.drop();
    }
  },
});

Deno.test("rotate keys: the script refuses missing or bad settings with a clear message", async () => {
  const none = await runScript({});
  assert.equal(none.code, 2);
  assert.match(none.stderr, /SUPABASE_DB_URL/);
  assert.match(none.stderr, /--db-url/);
  assert.match(none.stderr, /LLM_KEY_ENCRYPTION_KEYS/);
  assert.equal(none.stdout, "");

  const noKeys = await runScript({ SUPABASE_DB_URL: "postgresql://127.0.0.1:1/none" });
  assert.equal(noKeys.code, 2);
  assert.match(noKeys.stderr, /LLM_KEY_ENCRYPTION_KEYS/);
  assert.doesNotMatch(noKeys.stderr, /SUPABASE_DB_URL/);

  const short = randomKeyBase64(31);
  const badKey = await runScript({
    SUPABASE_DB_URL: "postgresql://127.0.0.1:1/none",
    LLM_KEY_ENCRYPTION_KEYS: `v1:${K1},v2:${short}`,
  });
  assert.equal(badKey.code, 2);
  assert.match(badKey.stderr, /"v2".*31 bytes/);
  for (const secret of [K1, short]) assert.ok(!badKey.stderr.includes(secret));

  const unknownActive = await runScript({
    SUPABASE_DB_URL: "postgresql://127.0.0.1:1/none",
    LLM_KEY_ENCRYPTION_KEYS: ONLY_V1,
    LLM_KEY_ENCRYPTION_ACTIVE: "v2",
  });
  assert.equal(unknownActive.code, 2);
  assert.match(unknownActive.stderr, /LLM_KEY_ENCRYPTION_ACTIVE names version "v2"/);
});

Deno.test("rotate keys: a database that cannot be reached fails without printing its password", async () => {
  const run = await runScript({
    SUPABASE_DB_URL: `postgresql://rotator:Pw-s3cret-value@127.0.0.1:${freePort()}/none`,
    LLM_KEY_ENCRYPTION_KEYS: ONLY_V1,
  });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /rotate-keys: run failed/);
  assert.ok(!(run.stdout + run.stderr).includes("Pw-s3cret-value"));
  assert.ok(!(run.stdout + run.stderr).includes(K1));
});
