/**
 * Accounts' own provider keys (BYOK) in llm_provider_keys: stored encrypted,
 * listed with their hints, decrypted only into the router that serves one of
 * that account's requests. The encrypted rows are cached; plaintext never is.
 */
import type { Db } from "../store/db.ts";
import { cached, type StateStore } from "../store/state-store.ts";
import { displayedHint, keyHint, type KeyVault } from "../security/key-vault.ts";
import { isUuid } from "./ids.ts";

/** A stored key as the API may show it to the account's admins (no ciphertext). */
export interface ProviderKeyInfo {
  provider: string;
  keyHint: string;
  keyVersion: string;
  updatedAt: string;
}

interface KeyRow extends Record<string, unknown> {
  provider: string;
  ciphertext: string;
  key_version: string;
  key_hint: string;
  updated_at: Date | string;
}

/** Reads and writes account keys. */
export class ProviderKeyRepository {
  constructor(
    private readonly db: Db,
    private readonly store: StateStore,
    private readonly ttlMs: number,
  ) {}

  /** The account's keys without their ciphertext. */
  async list(accountId: string): Promise<ProviderKeyInfo[]> {
    return (await this.#rows(accountId)).map((row) => ({
      provider: row.provider,
      keyHint: displayedHint(row.key_hint),
      keyVersion: row.key_version,
      updatedAt: new Date(row.updated_at).toISOString(),
    }));
  }

  /** The account's keys in plaintext, by provider: for building that request's router only. */
  async decrypted(
    accountId: string | undefined,
    vault: KeyVault | undefined,
  ): Promise<Record<string, string>> {
    if (!isUuid(accountId) || !vault) return {};
    const keys: Record<string, string> = {};
    for (const row of await this.#rows(accountId)) {
      keys[row.provider] = await vault.decrypt(
        row.ciphertext,
        row.key_version,
        accountId,
        row.provider,
      );
    }
    return keys;
  }

  /** Stores (or replaces) the account's key for `provider`. */
  async put(
    accountId: string,
    provider: string,
    plaintext: string,
    vault: KeyVault,
  ): Promise<ProviderKeyInfo> {
    const { ciphertext, version } = await vault.encrypt(plaintext, accountId, provider);
    const rows = await this.db.query<KeyRow>(
      `insert into llm_provider_keys (account_id, provider, ciphertext, key_version, key_hint)
       values ($1, $2, $3, $4, $5)
       on conflict (account_id, provider) do update set
         ciphertext = excluded.ciphertext, key_version = excluded.key_version, key_hint = excluded.key_hint
       returning provider, ciphertext, key_version, key_hint, updated_at`,
      [accountId, provider, ciphertext, version, keyHint(plaintext)],
    );
    await this.store.delete(cacheKey(accountId));
    const row = rows[0];
    return {
      provider: row.provider,
      keyHint: displayedHint(row.key_hint),
      keyVersion: row.key_version,
      updatedAt: new Date(row.updated_at).toISOString(),
    };
  }

  /** Removes the account's key for `provider`; true when there was one. */
  async delete(accountId: string, provider: string): Promise<boolean> {
    const rows = await this.db.query(
      "delete from llm_provider_keys where account_id = $1 and provider = $2 returning provider",
      [accountId, provider],
    );
    await this.store.delete(cacheKey(accountId));
    return rows.length > 0;
  }

  #rows(accountId: string): Promise<KeyRow[]> {
    return cached(this.store, cacheKey(accountId), this.ttlMs, () =>
      this.db.query<KeyRow>(
        "select provider, ciphertext, key_version, key_hint, updated_at from llm_provider_keys where account_id = $1 order by provider",
        [accountId],
      ));
  }
}

function cacheKey(accountId: string): string {
  return `keys:${accountId}`;
}
