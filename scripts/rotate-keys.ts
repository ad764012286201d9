/**
 * Re-encrypts every BYOK provider key (public.llm_provider_keys) that is not
 * under the active master key version, so an old master key can be retired.
 *
 * Rotating the master key, step by step:
 *   1. Make a new key: `openssl rand -base64 32`.
 *   2. Add it next to the old one and make it active, in the functions'
 *      secrets, then deploy:
 *        LLM_KEY_ENCRYPTION_KEYS=v1:<old base64>,v2:<new base64>
 *        LLM_KEY_ENCRYPTION_ACTIVE=v2
 *      From then on new and updated keys are written under v2 and rows still
 *      under v1 keep decrypting.
 *   3. Run this script with the same two settings:
 *        SUPABASE_DB_URL=postgresql://… LLM_KEY_ENCRYPTION_KEYS=… LLM_KEY_ENCRYPTION_ACTIVE=v2 \
 *          deno run --allow-net --allow-env --allow-read scripts/rotate-keys.ts [--db-url <url>]
 *      It prints one summary line and exits 1 if any row could not be
 *      decrypted (those rows are listed on stderr by account and provider and
 *      left as they were: have their owners enter the key again, or delete them).
 *      Safe to run while the gateway serves traffic, twice, or twice at once.
 *   4. When `select key_version, count(*) from public.llm_provider_keys group by 1`
 *      shows only v2, remove v1 from LLM_KEY_ENCRYPTION_KEYS and deploy.
 *
 * Exit codes: 0 all rotated, 1 some rows failed (or the run broke), 2 bad settings.
 */
import type { Db } from "../supabase/functions/_shared/store/db.ts";
import { jsonParam } from "../supabase/functions/_shared/store/db.ts";
import { postgresDb } from "../supabase/functions/_shared/store/postgres-db.ts";
import {
  ACTIVE_SETTING,
  KEYS_SETTING,
  KeyVault,
  KeyVaultConfigError,
  KeyVaultError,
} from "../supabase/functions/_shared/security/key-vault.ts";
import { redactSecrets } from "../supabase/functions/_shared/runtime/redact.ts";

/** How a rotation runs. */
export interface RotateKeysOptions {
  /** Rows per transaction (default 100): row locks are held for one batch only. */
  batchSize?: number;
  /** Receives one line per row that could not be rotated (never key material). */
  log?: (line: string) => void;
}

/** A row that could not be decrypted and was left untouched. */
export interface RotationFailure {
  accountId: string;
  provider: string;
  version: string;
  /** `unknown_version`, `tampered`, `malformed`, or `error` for anything else. */
  reason: string;
}

/** What one run did. */
export interface RotateKeysResult {
  /** Rows this run re-encrypted under the active version. */
  rotated: number;
  /** Rows already under the active version when the run started. */
  alreadyCurrent: number;
  /** Rows that could not be decrypted; listed in `failures`. */
  failed: number;
  failures: RotationFailure[];
}

interface KeyRow extends Record<string, unknown> {
  account_id: string;
  provider: string;
  ciphertext: string;
  key_version: string;
}

/**
 * Re-encrypts every row of public.llm_provider_keys not under the vault's
 * active version, in batches of one transaction each. Rows are taken with
 * `FOR UPDATE SKIP LOCKED`, so a concurrent run (or a user updating a key)
 * never makes a row be rotated twice or waited on; only `ciphertext` and
 * `key_version` change. Rows that do not decrypt are counted, reported and
 * left untouched.
 */
export async function rotateKeys(
  db: Db,
  vault: KeyVault,
  options: RotateKeysOptions = {},
): Promise<RotateKeysResult> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100));
  const log = options.log ?? (() => {});
  const active = vault.activeVersion;
  const [{ count }] = await db.query<{ count: number }>(
    "select count(*)::int as count from public.llm_provider_keys where key_version = $1",
    [active],
  );
  const failures: RotationFailure[] = [];
  let rotated = 0;
  for (;;) {
    // Failed rows stay under their old version; excluding them is what lets
    // the loop end: every batch either rotates or excludes each row it takes.
    // `::text::jsonb`, not `::jsonb`: postgres.js would send a string typed
    // jsonb as a JSON string scalar rather than as the array it holds.
    const excluded = jsonParam(failures.map((f) => ({ a: f.accountId, p: f.provider })));
    const batch = await db.transaction(async (tx) => {
      const rows = await tx.query<KeyRow>(
        `select k.account_id::text as account_id, k.provider, k.ciphertext, k.key_version
           from public.llm_provider_keys k
          where k.key_version <> $1
            and not exists (
              select 1 from jsonb_to_recordset($2::text::jsonb) as f(a uuid, p text)
               where f.a = k.account_id and f.p = k.provider)
          order by k.account_id, k.provider
          limit $3
          for update of k skip locked`,
        [active, excluded, batchSize],
      );
      let done = 0;
      const failed: RotationFailure[] = [];
      for (const row of rows) {
        let plaintext: string;
        try {
          plaintext = await vault.decrypt(
            row.ciphertext,
            row.key_version,
            row.account_id,
            row.provider,
          );
        } catch (error) {
          failed.push({
            accountId: row.account_id,
            provider: row.provider,
            version: row.key_version,
            reason: error instanceof KeyVaultError ? error.reason : "error",
          });
          continue;
        }
        const next = await vault.encrypt(plaintext, row.account_id, row.provider);
        // Guarded by the old value too: under the row lock it always matches,
        // and if it ever did not, the row is not counted rather than overwritten.
        const updated = await tx.query(
          `update public.llm_provider_keys
              set ciphertext = $1, key_version = $2
            where account_id = $3::uuid and provider = $4
              and key_version = $5 and ciphertext = $6
          returning 1 as ok`,
          [
            next.ciphertext,
            next.version,
            row.account_id,
            row.provider,
            row.key_version,
            row.ciphertext,
          ],
        );
        done += updated.length;
      }
      return { taken: rows.length, done, failed };
    });
    rotated += batch.done;
    for (const failure of batch.failed) {
      failures.push(failure);
      log(
        `rotate-keys: cannot decrypt the key of account ${failure.accountId} provider ` +
          `${JSON.stringify(failure.provider)} (version ${JSON.stringify(failure.version)}): ` +
          `${failure.reason}; left unchanged`,
      );
    }
    // No row left that this run may take (the rest are current, failed, or
    // locked by someone else who is writing them anyway).
    if (batch.taken === 0) break;
  }
  return { rotated, alreadyCurrent: count, failed: failures.length, failures };
}

/** Driver errors can quote the connection string, password included: it is cut out. */
function withoutUrl(message: string, url: string): string {
  let out = message.split(url).join("[db url]");
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) out = out.split(password).join("[redacted]");
  } catch {
    // not a URL: nothing more to cut
  }
  return out;
}

/** Runs the script; returns the exit code. */
async function main(args: string[]): Promise<number> {
  const flag = args.indexOf("--db-url");
  const url = flag >= 0 ? args[flag + 1] : Deno.env.get("SUPABASE_DB_URL");
  const keys = Deno.env.get(KEYS_SETTING);
  const missing = [
    ...(url ? [] : ["SUPABASE_DB_URL (or --db-url <postgres url>)"]),
    ...(keys?.trim() ? [] : [KEYS_SETTING]),
  ];
  if (missing.length > 0) {
    console.error(
      `rotate-keys: set ${missing.join(" and ")}. See the usage in scripts/rotate-keys.ts.`,
    );
    return 2;
  }
  let vault: KeyVault;
  try {
    vault = await KeyVault.fromSettings(keys, Deno.env.get(ACTIVE_SETTING));
  } catch (error) {
    if (!(error instanceof KeyVaultConfigError)) throw error;
    console.error(`rotate-keys: ${error.message}`);
    return 2;
  }
  const db = postgresDb(url!, { max: 1 });
  try {
    const result = await rotateKeys(db, vault, { log: (line) => console.error(line) });
    console.log(
      `rotate-keys: active ${vault.activeVersion}: rotated ${result.rotated}, ` +
        `already current ${result.alreadyCurrent}, failed ${result.failed}`,
    );
    return result.failed > 0 ? 1 : 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`rotate-keys: run failed: ${withoutUrl(redactSecrets(message), url!)}`);
    return 1;
  } finally {
    await db.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
