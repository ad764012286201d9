/**
 * Building the router from an environment: platform keys and base URLs by
 * each provider's env names, and the config from `LLM_*` settings. The env
 * reader is passed in, so this module itself never touches the process.
 */
import { type EnvLookup, routerConfigFrom } from "./config.ts";
import { BUILT_IN_PROVIDERS, customProviderSpec } from "./providers/registry.ts";
import { createProviderAdapter } from "./providers/create-adapter.ts";
import { LLMRouter, type LLMRouterOptions } from "./router.ts";

/** What the environment does not provide. */
export type RouterEnvDeps = Partial<Omit<LLMRouterOptions, "config" | "keys" | "baseUrls">>;

/** A router configured from `env`; `warnings` collects malformed settings. */
export function createRouterFromEnv(
  env: EnvLookup,
  deps: RouterEnvDeps = {},
  warnings: string[] = [],
): LLMRouter {
  const config = routerConfigFrom(env, warnings);
  const specs = [...BUILT_IN_PROVIDERS, ...config.customProviders.map(customProviderSpec)];
  const keys: Record<string, string | undefined> = {};
  const baseUrls: Record<string, string | undefined> = {};
  for (const spec of specs) {
    keys[spec.name] = env(spec.keyEnv);
    baseUrls[spec.name] = env(spec.baseUrlEnv)?.replace(/\/+$/, "");
  }
  return new LLMRouter({ createAdapter: createProviderAdapter, ...deps, config, keys, baseUrls });
}
