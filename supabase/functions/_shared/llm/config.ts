/**
 * The router's configuration: use-case chains, tier mapping, retry, breaker
 * and timeout settings, extra models and providers. `routerConfigFrom` reads
 * it through an env reader passed in (the core never touches the process
 * environment itself); every value has a safe default.
 */
import { type EnvReader, flagSetting, intSetting } from "../runtime/env.ts";
import {
  type CatalogModel,
  DEFAULT_TIER_USE_CASES,
  DEFAULT_USE_CASE_CHAINS,
  USE_CASES,
  type UseCase,
} from "./catalog.ts";
import type { BreakerPolicy, RetryPolicy } from "./resilience.ts";
import { LLM_REASONING_EFFORTS } from "./types.ts";
import type { CustomProviderConfig } from "./providers/registry.ts";
import { type DeploymentsByModel, deploymentsFrom } from "./deployment-config.ts";

/** Timeouts of one attempt, of the whole request, and of a stream's pacing. */
export interface TimeoutPolicy {
  /** A non-streamed answer. */
  requestMs: number;
  /** A stream's first event. */
  firstEventMs: number;
  /** Silence between stream events. */
  idleMs: number;
  /**
   * A stream whose first event has not come by then commits anyway (its 200
   * goes out and heartbeats start) and can no longer fall back:
   * `LLM_STREAM_COMMIT_AFTER_MS`, so a thinking model does not meet the
   * platform's 150 s response limit.
   */
  commitAfterMs: number;
  /**
   * Total time across retries and fallbacks until an answer or a stream's
   * first event (`LLM_REQUEST_DEADLINE_MS`); past it, 504 TIMEOUT.
   */
  deadlineMs: number;
  /** A committed stream writes an SSE comment after this much silence (`LLM_SSE_HEARTBEAT_MS`). */
  heartbeatMs: number;
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
  /** Models served from several deployments (`LLM_DEPLOYMENTS`); a model not listed has one, its provider. */
  deployments: DeploymentsByModel;
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
    timeouts: {
      requestMs: 60_000,
      firstEventMs: 30_000,
      idleMs: 60_000,
      commitAfterMs: 20_000,
      deadlineMs: 140_000,
      heartbeatMs: 15_000,
    },
    overrideFallback: true,
    marginTokens: 256,
    summarizeTrimmed: false,
    extraModels: [],
    customProviders: [],
    deployments: {},
  };
}

/**
 * Builds the config from env, collecting a warning for each malformed value
 * (which keeps its default). JSON-valued settings: `LLM_USE_CASE_CHAINS`
 * (`{"draft":["gpt-4o-mini",…]}`), `LLM_TIER_USE_CASES`, `LLM_MODELS`
 * (catalog entries; `capabilities.structuredOutput`, `reasoning` and
 * `reasoningEfforts` may be left out, see catalog.ts), `LLM_CUSTOM_PROVIDERS`,
 * `LLM_DEPLOYMENTS` (`deployment-config.ts`).
 */
export function routerConfigFrom(env: EnvReader, warnings: string[] = []): RouterConfig {
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
  readRequestLimits(env, config.timeouts, warnings);
  config.marginTokens = int("LLM_TOKEN_MARGIN", config.marginTokens, 0, 100_000);
  const flag = (name: string, fallback: boolean) =>
    env(name) === undefined ? fallback : flagSetting(env, name);
  config.overrideFallback = flag("LLM_OVERRIDE_FALLBACK", config.overrideFallback);
  config.summarizeTrimmed = flag("LLM_SUMMARIZE_TRIMMED", config.summarizeTrimmed);

  const chains = json("LLM_USE_CASE_CHAINS", isChainMap);
  if (chains) Object.assign(config.useCaseChains, chains);
  const tiers = json("LLM_TIER_USE_CASES", isTierMap);
  if (tiers) Object.assign(config.tierUseCases, tiers);
  config.extraModels = json("LLM_MODELS", isModelList) ?? [];
  config.customProviders = json("LLM_CUSTOM_PROVIDERS", isProviderList) ?? [];
  config.deployments = deploymentsFrom(env("LLM_DEPLOYMENTS"), warnings);
  const useCase = env("LLM_DEFAULT_USE_CASE");
  if (useCase !== undefined) {
    if ((USE_CASES as readonly string[]).includes(useCase)) {
      config.defaultUseCase = useCase as UseCase;
    } else warnings.push(`LLM_DEFAULT_USE_CASE must be one of ${USE_CASES.join(", ")}`);
  }
  return config;
}

/**
 * The settings that keep a request inside the platform's limits, each
 * checked alone and against the others: a commit threshold past the first
 * event's timeout or the deadline never fires, which is worth a warning.
 */
function readRequestLimits(env: EnvReader, timeouts: TimeoutPolicy, warnings: string[]): void {
  const int = (name: string, fallback: number, min: number, max: number): number =>
    intSetting(env, name, fallback, { min, max }, warnings);
  timeouts.commitAfterMs = int("LLM_STREAM_COMMIT_AFTER_MS", timeouts.commitAfterMs, 100, 900_000);
  timeouts.deadlineMs = int("LLM_REQUEST_DEADLINE_MS", timeouts.deadlineMs, 1_000, 900_000);
  // Proxies close a connection silent for long; Supabase's limit is 150 s.
  timeouts.heartbeatMs = int("LLM_SSE_HEARTBEAT_MS", timeouts.heartbeatMs, 1_000, 120_000);
  const lesser = timeouts.firstEventMs <= timeouts.deadlineMs
    ? ["LLM_FIRST_EVENT_TIMEOUT_MS", timeouts.firstEventMs] as const
    : ["LLM_REQUEST_DEADLINE_MS", timeouts.deadlineMs] as const;
  if (timeouts.commitAfterMs >= lesser[1]) {
    warnings.push(
      `LLM_STREAM_COMMIT_AFTER_MS=${timeouts.commitAfterMs} is not below ${lesser[0]}=${
        lesser[1]
      }: a slow stream times out before it commits early`,
    );
  }
}

/** Reads a JSON-valued setting checked by `valid`; a malformed one is ignored with a warning. */
export function jsonSetting<T>(
  env: EnvReader,
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

const STRUCTURED_OUTPUT_MODES: readonly unknown[] = ["native", "tool", "none"];
const REASONING_CONTROLS: readonly unknown[] = ["effort", "thinking", "none"];
const EFFORT_LEVELS: readonly unknown[] = LLM_REASONING_EFFORTS;

/** The optional capabilities an `LLM_MODELS` entry may set are one of their known values. */
function knownCapabilities(capabilities: Record<string, unknown>): boolean {
  const { structuredOutput, reasoning, reasoningEfforts } = capabilities;
  return (structuredOutput === undefined || STRUCTURED_OUTPUT_MODES.includes(structuredOutput)) &&
    (reasoning === undefined || REASONING_CONTROLS.includes(reasoning)) &&
    (reasoningEfforts === undefined ||
      (Array.isArray(reasoningEfforts) && reasoningEfforts.length > 0 &&
        reasoningEfforts.every((effort) => EFFORT_LEVELS.includes(effort))));
}

function isModelList(value: unknown): value is CatalogModel[] {
  return Array.isArray(value) &&
    value.every((m) =>
      typeof m?.id === "string" && typeof m.provider === "string" &&
      Number.isInteger(m.contextWindow) &&
      Number.isInteger(m.maxOutputTokens) && typeof m.prices?.input === "number" &&
      typeof m.prices?.output === "number" &&
      typeof m.capabilities === "object" && m.capabilities !== null &&
      knownCapabilities(m.capabilities) && ["o200k", "cl100k", "approx"].includes(m.tokenizer)
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
