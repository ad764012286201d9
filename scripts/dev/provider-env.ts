/**
 * Which provider keys the environment holds, for the dev server's banner and
 * its decision to start the mock provider. The env names come from the
 * router's provider registry (`<PROVIDER>_API_KEY`, `<PROVIDER>_BASE_URL`).
 */
import type { EnvReader } from "../../supabase/functions/_shared/runtime/env.ts";
import { maskKey } from "../../supabase/functions/_shared/runtime/redact.ts";
import { BUILT_IN_PROVIDERS } from "../../supabase/functions/_shared/llm/providers/registry.ts";

/** One configured provider, key masked. */
export interface ConfiguredProvider {
  name: string;
  maskedKey: string;
  baseUrl?: string;
}

/** Providers with a key in `env`. */
export function configuredProviders(env: EnvReader): ConfiguredProvider[] {
  return BUILT_IN_PROVIDERS.flatMap((spec) => {
    const key = env(spec.keyEnv);
    if (!key) return [];
    return [{ name: spec.name, maskedKey: maskKey(key), baseUrl: env(spec.baseUrlEnv) }];
  });
}
