/**
 * Gateway keys at rest: only the SHA-256 of a key is stored (no column holds
 * the secret), row-level security shows members their account's keys by name
 * and prefix and never a hash, and the suite's log scan and every log line's
 * redaction know a key when they see one.
 */
import assert from "node:assert/strict";
import { GatewayKeyRepository } from "../supabase/functions/_shared/data/gateway-keys.ts";
import { gatewayKeyHash } from "../supabase/functions/_shared/security/gateway-key-secret.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { redactSecrets } from "../supabase/functions/_shared/runtime/redact.ts";
import type { Db, SqlRunner } from "../supabase/functions/_shared/store/db.ts";
import { findSecrets } from "../scripts/test/log-scan.ts";
import { availableKinds, freshDb } from "./helpers/test-db.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const USER_A = "a1a1a1a1-a1a1-4a1a-8a1a-a1a1a1a1a1a1";

for (const kind of availableKinds()) {
  Deno.test(`gateway keys (${kind}): the row holds the key's SHA-256 and prefix, never the key`, async () => {
    const { db, close } = await freshDb(kind);
    try {
      const keys = new GatewayKeyRepository(db, new MemoryStateStore(), 60_000);
      const { key, secret } = await keys.create(ACCOUNT_A, { name: "ci" }, Date.now());
      const [row] = await db.query<Record<string, unknown>>(
        "select * from llm_gateway_keys where id = $1",
        [key.id],
      );
      assert.equal(row.key_hash, await gatewayKeyHash(secret));
      assert.equal(row.prefix, secret.slice(0, 12));
      const stored = JSON.stringify(row);
      assert.ok(!stored.includes(secret.slice(12)), "no column holds the key's secret part");
      assert.deepEqual(await keys.verify(secret, Date.now()), {
        grant: { id: key.id, accountId: ACCOUNT_A },
      });
    } finally {
      await close();
    }
  });

  Deno.test(`gateway keys (${kind}): members read their account's keys by name and prefix, never a hash`, async () => {
    const { db, close } = await freshDb(kind);
    try {
      const keys = new GatewayKeyRepository(db, new MemoryStateStore(), 60_000);
      await keys.create(ACCOUNT_A, { name: "a-key" }, Date.now());
      await keys.create(ACCOUNT_B, { name: "b-key" }, Date.now());
      const asMemberOfA = (work: (tx: SqlRunner) => Promise<void>) =>
        asUser(db, { sub: USER_A, app_metadata: { account_id: ACCOUNT_A, role: "member" } }, work);
      await asMemberOfA(async (tx) => {
        const rows = await tx.query<{ name: string; prefix: string }>(
          "select name, prefix from llm_gateway_keys",
        );
        assert.deepEqual(rows.map((r) => r.name), ["a-key"]);
        assert.match(rows[0].prefix, /^llmk_/);
      });
      await assert.rejects(
        asMemberOfA((tx) => tx.query("select key_hash from llm_gateway_keys").then(() => {})),
        /permission denied/,
      );
      await assert.rejects(
        asMemberOfA((tx) => tx.query("select * from llm_gateway_keys").then(() => {})),
        /permission denied/,
      );
      await assert.rejects(
        asMemberOfA((tx) =>
          tx.query("update llm_gateway_keys set revoked_at = now()").then(() => {})
        ),
        /permission denied/,
      );
    } finally {
      await close();
    }
  });
}

Deno.test("gateway keys: a key in a log line is redacted and found by the suite's scan; a listed prefix is not", () => {
  const secret = `llmk_${"Ab3_-".repeat(8)}xyz`;
  const line = `{"event":"x","detail":"sent ${secret}"}`;
  assert.ok(!redactSecrets(line).includes(secret.slice(5)));
  assert.equal(findSecrets(line, []).length, 1);
  const listed = `{"event":"gateway_key","prefix":"${secret.slice(0, 12)}"}`;
  assert.deepEqual(findSecrets(listed, []), []);
});

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
