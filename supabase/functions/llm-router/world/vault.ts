/** The key vault that encrypts the accounts' own provider keys (BYOK), from env. */
import type { EnvReader } from "../../_shared/runtime/env.ts";
import { errorMessage } from "../../_shared/runtime/error-message.ts";
import { KeyVault } from "../../_shared/security/key-vault.ts";

/**
 * The vault from LLM_KEY_ENCRYPTION_KEYS (and LLM_KEY_ENCRYPTION_ACTIVE), or
 * why there is none: BYOK writes answer 503 with that reason. A malformed
 * setting is also a warning.
 */
export async function vaultFromEnv(env: EnvReader, warnings: string[]): Promise<KeyVault | string> {
  const keys = env("LLM_KEY_ENCRYPTION_KEYS");
  if (!keys) return "set LLM_KEY_ENCRYPTION_KEYS to store provider keys";
  try {
    return await KeyVault.fromSettings(keys, env("LLM_KEY_ENCRYPTION_ACTIVE"));
  } catch (error) {
    const reason = `LLM_KEY_ENCRYPTION_KEYS is not valid: ${errorMessage(error)}`;
    warnings.push(reason);
    return reason;
  }
}
