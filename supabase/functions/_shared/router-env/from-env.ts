/**
 * Building the router from an environment: platform keys and base URLs by
 * each provider's env names, the deployments' keys by the env names they
 * reference, the config from `LLM_*` settings, and the gpt-tokenizer
 * binding for token budgets. It sits outside the core because
 * it binds packages the core may not import; the env reader is passed in,
 * so this module itself never touches the process.
 */
import type { EnvReader } from "../runtime/env.ts";
import { jsonSetting, routerConfigFrom } from "../llm/config.ts";
import type { DeploymentsByModel } from "../llm/deployment-config.ts";
import { BUILT_IN_PROVIDERS, customProviderSpec } from "../llm/providers/registry.ts";
import { createProviderAdapter } from "../llm/providers/create-adapter.ts";
import { LLMRouter, type LLMRouterOptions } from "../llm/router.ts";
import { type AgentPreference, StaticPreferences } from "../llm/routing.ts";
import { TokenBudgetManager } from "../llm/tokens.ts";
import type { UseCase } from "../llm/catalog.ts";
import { loadGptTokenizer } from "../tokenizer/gpt-tokenizer.ts";

/** What the environment does not provide. */
export type RouterEnvDeps = Partial<Omit<LLMRouterOptions, "config" | "keys" | "baseUrls">>;

/** A router configured from `env`; `warnings` collects malformed settings. */
export function createRouterFromEnv(
  env: EnvReader,
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
  const deploymentKeys: Record<string, string | undefined> = {};
  for (const deployments of Object.values(config.deployments)) {
    for (const { keyEnv } of deployments) if (keyEnv) deploymentKeys[keyEnv] = env(keyEnv);
  }
  const preferences = deps.preferences ?? staticPreferencesFrom(env, warnings);
  const router = new LLMRouter({
    createAdapter: createProviderAdapter,
    // One per router built here (one per isolate): it caches the loaded encodings.
    tokens: new TokenBudgetManager({ loadEncoder: loadGptTokenizer }),
    ...deps,
    preferences,
    config,
    keys,
    baseUrls,
    deploymentKeys,
  });
  warnings.push(...deploymentWarnings(router, config.deployments));
  return router;
}

/**
 * What keeps a configured deployment from being routed to: a model the
 * catalog does not have, or a key that is not set (the deployment's own, or
 * its provider's when it references none). Checked against what the router
 * built, so a warning says exactly what it left out.
 */
function deploymentWarnings(router: LLMRouter, configured: DeploymentsByModel): string[] {
  const warnings: string[] = [];
  const routed = new Set(router.deployments().map((d) => `${d.model}\n${d.deployment.name}`));
  for (const [id, deployments] of Object.entries(configured)) {
    const model = router.catalog.get(id);
    if (!model) {
      warnings.push(`LLM_DEPLOYMENTS ${id}: not a catalog model; its deployments are ignored`);
      continue;
    }
    for (const { name, keyEnv } of deployments) {
      if (routed.has(`${model.id}\n${name}`)) continue;
      const key = keyEnv ?? router.providers().find((p) => p.spec.name === model.provider)?.spec
        .keyEnv;
      warnings.push(
        `LLM_DEPLOYMENTS ${id} (${name}): ${
          key ?? "its key"
        } is not set; the deployment is left out`,
      );
    }
    if (!deployments.some(({ name }) => routed.has(`${model.id}\n${name}`))) {
      warnings.push(`LLM_DEPLOYMENTS ${id}: no deployment has a key; the model is not routed to`);
    }
  }
  return warnings;
}

/**
 * Agent preferences and account routes given in env as JSON, for
 * deployments without the database: `LLM_AGENT_PREFERENCES`
 * (`{"<agentId>": {"model": "…", "fallbacks": […], "params": {…}}}`) and
 * `LLM_ACCOUNT_ROUTES` (`{"<accountId>": {"<useCase>": ["model", …]}}`).
 */
function staticPreferencesFrom(env: EnvReader, warnings: string[]): StaticPreferences | undefined {
  const agents = jsonSetting(env, "LLM_AGENT_PREFERENCES", isAgentMap, warnings);
  const accounts = jsonSetting(env, "LLM_ACCOUNT_ROUTES", isAccountMap, warnings);
  return agents || accounts ? new StaticPreferences(agents ?? {}, accounts ?? {}) : undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function isAgentMap(value: unknown): value is Record<string, AgentPreference> {
  return isObject(value) &&
    Object.values(value).every((p) =>
      isObject(p) && typeof p.model === "string" &&
      (p.fallbacks === undefined ||
        (Array.isArray(p.fallbacks) && p.fallbacks.every((f) => typeof f === "string"))) &&
      (p.params === undefined || isObject(p.params))
    );
}

function isAccountMap(value: unknown): value is Record<string, Partial<Record<UseCase, string[]>>> {
  return isObject(value) &&
    Object.values(value).every((routes) =>
      isObject(routes) &&
      Object.values(routes).every((chain) =>
        Array.isArray(chain) && chain.every((m) => typeof m === "string")
      )
    );
}
