/**
 * The secrets a function's environment holds, for its `SecretScrubber`: the
 * provider keys it names (the caller knows which env names those are), the
 * server keys, the JWT secret, the master keys' material, the job secret,
 * the Upstash token and the database password. Read from the env reader the
 * caller passes in; this module never touches the process.
 */
import { SecretScrubber } from "../runtime/secret-scrubber.ts";

/** Settings that are secrets as a whole. */
const SECRET_SETTINGS = [
  "SUPABASE_SERVICE_ROLE_KEY",
  "SUPABASE_JWT_SECRET",
  "LLM_JOB_SECRET",
  "UPSTASH_REDIS_REST_TOKEN",
] as const;

/** Every secret value in `env`, besides provider keys. */
export function environmentSecrets(env: (name: string) => string | undefined): string[] {
  const secrets: (string | undefined)[] = SECRET_SETTINGS.map((name) => env(name));
  // Comma-separated lists: the whole value and each entry.
  const serviceKeys = env("LLM_SERVICE_KEYS");
  if (serviceKeys) secrets.push(serviceKeys, ...serviceKeys.split(",").map((key) => key.trim()));
  const masterKeys = env("LLM_KEY_ENCRYPTION_KEYS");
  if (masterKeys) {
    // `v1:<base64>,v2:<base64>`: the material is what follows each version name.
    secrets.push(masterKeys, ...masterKeys.split(",").map((entry) => entry.trim().split(":")[1]));
  }
  secrets.push(databasePassword(env("SUPABASE_DB_URL")));
  return secrets.filter((secret): secret is string => !!secret);
}

/** A scrubber for `env`'s secrets and the provider keys in the settings named `providerKeyEnvs`. */
export function secretScrubberFromEnv(
  env: (name: string) => string | undefined,
  providerKeyEnvs: readonly string[],
): SecretScrubber {
  return new SecretScrubber([
    ...environmentSecrets(env),
    ...providerKeyEnvs.map((name) => env(name)),
  ]);
}

function databasePassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
