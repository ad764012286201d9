/**
 * Which provider keys the environment holds, for the dev server's banner and
 * its decision to start the mock provider. Names follow the official SDKs'
 * conventions: `<PROVIDER>_API_KEY` and `<PROVIDER>_BASE_URL`.
 */
import { EnvReader } from "../../supabase/functions/_shared/http/env.ts";
import { maskKey } from "../../supabase/functions/_shared/security/redact.ts";

/** Providers the gateway can reach, by env prefix. */
export const PROVIDER_ENV_PREFIXES = [
  "OPENAI",
  "ANTHROPIC",
  "GEMINI",
  "MISTRAL",
  "GROQ",
  "OPENROUTER",
  "XAI",
  "DEEPSEEK",
] as const;

/** One configured provider, key masked. */
export interface ConfiguredProvider {
  name: string;
  maskedKey: string;
  baseUrl?: string;
}

/** Providers with a key in `env`. */
export function configuredProviders(env: EnvReader): ConfiguredProvider[] {
  return PROVIDER_ENV_PREFIXES.flatMap((prefix) => {
    const key = env(`${prefix}_API_KEY`);
    if (!key) return [];
    return [{
      name: prefix.toLowerCase(),
      maskedKey: maskKey(key),
      baseUrl: env(`${prefix}_BASE_URL`),
    }];
  });
}
