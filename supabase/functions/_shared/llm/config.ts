/**
 * The router's configuration: use-case chains, tier mapping, retry, breaker
 * and timeout settings, extra models and providers. `routerConfigFrom` reads
 * it through an env reader passed in (the core never touches the process
 * environment itself); every value has a safe default.
 */
import { type EnvReader, intSetting } from "../runtime/env.ts";
import {
  type CatalogModel,
  DEFAULT_TIER_USE_CASES,
  DEFAULT_USE_CASE_CHAINS,
  USE_CASES,
  type UseCase,
} from "./catalog.ts";
import type { BreakerPolicy, RetryPolicy } from "./resilience.ts";
import type { CustomProviderConfig } from "./providers/registry.ts";

/** Timeouts of one attempt. */
export interface TimeoutPolicy {
  /** A non-streamed answer. */
  requestMs: number;
  /** A stream's first event (the commit point). */
  firstEventMs: number;
  /** Silence between stream events. */
  idleMs: number;
}

/** Everything the router is configured with. */
export interface RouterConfig {
  useCaseChains: Record<UseCase, string[]>;
  tierUseCases: Record<string, UseCase>;
  defaultUseCase: UseCase;
  retry: RetryPolicy;
  breaker: BreakerPolicy;
  timeouts: TimeoutPolicy;
  /** After an explicit model override, fall back along the use-case chain (true) or fail (false). */
  overrideFallback: boolean;
  /** Tokens kept free between input + output and the context window. */
  marginTokens: number;
  /** Summarize trimmed turns through the summary use case instead of only dropping them. */
  summarizeTrimmed: boolean;
  /** Models added to (or overriding) the built-in catalog. */
  extraModels: CatalogModel[];
  /** Extra OpenAI-compatible providers (Ollama, vLLM, LM Studio …). */
  customProviders: CustomProviderConfig[];
}

/** The defaults: 2 retries, breaker 5 failures / 60 s / 2 successes. */
export function defaultRouterConfig(): RouterConfig {
  return {
    useCaseChains: Object.fromEntries(
      USE_CASES.map((u) => [u, [...DEFAULT_USE_CASE_CHAINS[u]]]),
    ) as Record<
      UseCase,
      string[]
    >,
    tierUseCases: { ...DEFAULT_TIER_USE_CASES },
    defaultUseCase: "general",
    retry: { maxRetries: 2, baseDelayMs: 250, maxDelayMs: 4_000, maxRetryAfterMs: 10_000 },
    breaker: { failureThreshold: 5, openMs: 60_000, halfOpenSuccesses: 2 },
    timeouts: { requestMs: 60_000, firstEventMs: 30_000, idleMs: 60_000 },
    overrideFallback: true,
    marginTokens: 256,
    summarizeTrimmed: false,
    extraModels: [],
    customProviders: [],
  };
}

/** Reads one environment variable (the functions' `EnvReader`). */
export type EnvLookup = EnvReader;

/**
 * Builds the config from env, collecting a warning for each malformed value
 * (which keeps its default). JSON-valued settings: `LLM_USE_CASE_CHAINS`
 * (`{"draft":["gpt-4o-mini",…]}`), `LLM_TIER_USE_CASES`, `LLM_MODELS`
 * (catalog entries), `LLM_CUSTOM_PROVIDERS`.
 */
export function routerConfigFrom(env: EnvLookup, warnings: string[] = []): RouterConfig {
  const config = defaultRouterConfig();
  const int = (name: string, fallback: number, min: number, max: number): number =>
    intSetting(env, name, fallback, { min, max }, warnings);
  const json = <T>(name: string, valid: (value: unknown) => value is T) =>
    jsonSetting(env, name, valid, warnings);

  config.retry.maxRetries = int("LLM_MAX_RETRIES", config.retry.maxRetries, 0, 10);
  config.retry.baseDelayMs = int("LLM_RETRY_BASE_MS", config.retry.baseDelayMs, 1, 60_000);
  config.retry.maxDelayMs = int("LLM_RETRY_MAX_MS", config.retry.maxDelayMs, 1, 300_000);
  config.retry.maxRetryAfterMs = int(
    "LLM_MAX_RETRY_AFTER_MS",
    config.retry.maxRetryAfterMs,
    0,
    300_000,
  );
  config.breaker.failureThreshold = int(
    "LLM_BREAKER_FAILURES",
    config.breaker.failureThreshold,
    1,
    1_000,
  );
  config.breaker.openMs = int("LLM_BREAKER_OPEN_MS", config.breaker.openMs, 100, 3_600_000);
  config.breaker.halfOpenSuccesses = int(
    "LLM_BREAKER_HALF_OPEN_SUCCESSES",
    config.breaker.halfOpenSuccesses,
    1,
    100,
  );
  config.timeouts.requestMs = int(
    "LLM_REQUEST_TIMEOUT_MS",
    config.timeouts.requestMs,
    100,
    900_000,
  );
  config.timeouts.firstEventMs = int(
    "LLM_FIRST_EVENT_TIMEOUT_MS",
    config.timeouts.firstEventMs,
    100,
    900_000,
  );
  config.timeouts.idleMs = int("LLM_STREAM_IDLE_TIMEOUT_MS", config.timeouts.idleMs, 100, 900_000);
  config.marginTokens = int("LLM_TOKEN_MARGIN", config.marginTokens, 0, 100_000);
  const flag = (name: string, fallback: boolean) => {
    const raw = env(name)?.toLowerCase();
    return raw === undefined ? fallback : ["1", "true", "yes", "on"].includes(raw);
  };
  config.overrideFallback = flag("LLM_OVERRIDE_FALLBACK", config.overrideFallback);
  config.summarizeTrimmed = flag("LLM_SUMMARIZE_TRIMMED", config.summarizeTrimmed);

  const chains = json("LLM_USE_CASE_CHAINS", isChainMap);
  if (chains) Object.assign(config.useCaseChains, chains);
  const tiers = json("LLM_TIER_USE_CASES", isTierMap);
  if (tiers) Object.assign(config.tierUseCases, tiers);
  config.extraModels = json("LLM_MODELS", isModelList) ?? [];
  config.customProviders = json("LLM_CUSTOM_PROVIDERS", isProviderList) ?? [];
  const useCase = env("LLM_DEFAULT_USE_CASE");
  if (useCase !== undefined) {
    if ((USE_CASES as readonly string[]).includes(useCase)) {
      config.defaultUseCase = useCase as UseCase;
    } else warnings.push(`LLM_DEFAULT_USE_CASE must be one of ${USE_CASES.join(", ")}`);
  }
  return config;
}

/** Reads a JSON-valued setting checked by `valid`; a malformed one is ignored with a warning. */
export function jsonSetting<T>(
  env: EnvLookup,
  name: string,
  valid: (value: unknown) => value is T,
  warnings: string[],
): T | undefined {
  const raw = env(name);
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw);
    if (valid(value)) return value;
  } catch {
    // reported below
  }
  warnings.push(`${name} is not valid; ignoring it`);
  return undefined;
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === "string");

function isChainMap(value: unknown): value is Partial<Record<UseCase, string[]>> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.entries(value).every(([key, chain]) =>
      (USE_CASES as readonly string[]).includes(key) && isStringArray(chain)
    );
}

function isTierMap(value: unknown): value is Record<string, UseCase> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.values(value).every((useCase) => (USE_CASES as readonly unknown[]).includes(useCase));
}

function isModelList(value: unknown): value is CatalogModel[] {
  return Array.isArray(value) &&
    value.every((m) =>
      typeof m?.id === "string" && typeof m.provider === "string" &&
      Number.isInteger(m.contextWindow) &&
      Number.isInteger(m.maxOutputTokens) && typeof m.prices?.input === "number" &&
      typeof m.prices?.output === "number" &&
      typeof m.capabilities === "object" && ["o200k", "cl100k", "approx"].includes(m.tokenizer)
    ) && value.every((m) => {
      // Fill optional price fields so a config entry may omit them.
      m.prices.cachedInput ??= m.prices.input;
      m.prices.cacheWrite ??= m.prices.input;
      return true;
    });
}

function isProviderList(value: unknown): value is CustomProviderConfig[] {
  return Array.isArray(value) &&
    value.every((p) =>
      typeof p?.name === "string" && /^[a-z][a-z0-9-]*$/.test(p.name) &&
      typeof p.baseUrl === "string"
    );
}
