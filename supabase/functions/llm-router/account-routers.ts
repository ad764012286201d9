/**
 * The router for one account: the platform's, or, when the account stored
 * its own provider keys, a fresh router holding them, so one tenant's key
 * can never serve another's request. Keys are decrypted per request and
 * never cached in plaintext.
 */
import { HttpError } from "../_shared/http/errors.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import type { ProviderKeyRepository } from "../_shared/data/provider-keys.ts";
import type { KeyVault } from "../_shared/security/key-vault.ts";

/** Routers by account. */
export class AccountRouters {
  constructor(
    /** The platform's router (its keys from env): every account without keys of its own. */
    readonly platform: LLMRouter,
    private readonly keys: ProviderKeyRepository | undefined,
    /** The key vault, or why there is none. */
    private readonly vault: KeyVault | string,
  ) {}

  /** The router for `accountId`; a 500 `KEY_UNAVAILABLE` when its stored key no longer decrypts. */
  async forAccount(accountId: string | undefined): Promise<LLMRouter> {
    if (!this.keys || typeof this.vault === "string") return this.platform;
    let keys: Record<string, string>;
    try {
      keys = await this.keys.decrypted(accountId, this.vault);
    } catch {
      // A key that no longer decrypts (tampered, or its master version retired) must not be used or leaked.
      throw new HttpError(
        500,
        "KEY_UNAVAILABLE",
        "The account's stored provider key cannot be decrypted; store it again",
      );
    }
    return Object.keys(keys).length
      ? this.platform.withApiKeys(keys, `account:${accountId}`)
      : this.platform;
  }
}
