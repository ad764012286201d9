/**
 * Configuration of the direct streaming functions, read from env on the first
 * request. Missing required settings make the function answer 503 with the
 * names of what is missing; malformed optional ones fall back with a warning.
 */
import { EnvReader, flagSetting, intSetting, numberSetting } from "../runtime/env.ts";
import { RolloutFlag, rolloutFlagFrom } from "./rollout.ts";
import { type JwtVerifierOptions, supabaseJwtVerifierOptions } from "../security/jwt-verifier.ts";
import { type CatalogModel, ModelCatalog } from "../llm/catalog.ts";
import type { TokenBucket } from "../guards/token-bucket.ts";

/** How the direct (OpenAI) path is guarded; users on the router path are guarded by llm-router. */
export interface DirectGuardConfig {
  /** Each user's bucket; undefined when the rate is 0 (no limit). */
  rate?: TokenBucket;
  /** `LLM_GUARDS_FAIL_CLOSED`: refuse with 503 when the store or database fails, instead of serving. */
  failClosed: boolean;
  /** How long account settings and memberships are reused from the store (`LLM_CACHE_TTL_MS`). */
  cacheTtlMs: number;
  /** Connections of the database pool, when SUPABASE_DB_URL is set (`LLM_DB_POOL_SIZE`). */
  dbPoolSize: number;
}

/** Settings of one direct function. */
export interface DirectConfig {
  openaiApiKey: string;
  /** Base URL including `/v1`, as the OpenAI SDK's `OPENAI_BASE_URL`. */
  openaiBaseUrl: string;
  model: string;
  /** The model's catalog entry (prices); undefined for a model the catalog does not know. */
  catalogModel?: CatalogModel;
  /** How user tokens are verified (HS256 secret and/or the project's JWKS). */
  jwt: JwtVerifierOptions;
  maxBodyBytes: number;
  maxOutputTokens: number;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  maxRetries: number;
  appName: string;
  rollout: RolloutFlag;
  /** llm-router's URL (`LLM_ROUTER_URL`, else `<SUPABASE_URL>/functions/v1/llm-router`), for routed users. */
  routerUrl?: string;
  /** The model asked of the router: a catalog model, `auto` or `auto:<useCase>`. */
  routerModel: string;
  guards: DirectGuardConfig;
}

/** The outcome of reading config: a config, or the required names that are missing. */
export type DirectConfigResult =
  | { ok: true; config: DirectConfig; warnings: string[] }
  | { ok: false; missing: string[]; warnings: string[] };

/** The model used when the function's model env var is unset. */
export const DEFAULT_DIRECT_MODEL = "gpt-4o-mini";
const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1";

/** Reads the config of a direct function whose model is named by `modelEnv`. */
export function readDirectConfig(env: EnvReader, modelEnv: string): DirectConfigResult {
  const warnings: string[] = [];
  const jwt = supabaseJwtVerifierOptions(env, warnings);
  const missing = [
    ...(env("OPENAI_API_KEY") ? [] : ["OPENAI_API_KEY"]),
    ...(jwt.configured ? [] : ["SUPABASE_JWT_SECRET or SUPABASE_URL"]),
  ];
  const rollout = rolloutFlagFrom(
    flagSetting(env, "ENABLE_LLM_ROUTER"),
    env("LLM_ROUTER_ROLLOUT_PERCENT"),
    warnings,
  );
  const maxBodyBytes = intSetting(env, "DIRECT_MAX_BODY_BYTES", 262_144, {
    min: 1_024,
    max: 10_485_760,
  }, warnings);
  const maxOutputTokens = intSetting(env, "DIRECT_MAX_OUTPUT_TOKENS", 1_024, {
    min: 1,
    max: 128_000,
  }, warnings);
  const firstByteTimeoutMs = intSetting(env, "DIRECT_FIRST_BYTE_TIMEOUT_MS", 30_000, {
    min: 100,
    max: 300_000,
  }, warnings);
  const idleTimeoutMs = intSetting(env, "DIRECT_IDLE_TIMEOUT_MS", 60_000, {
    min: 100,
    max: 600_000,
  }, warnings);
  const maxRetries = intSetting(env, "DIRECT_MAX_RETRIES", 1, { min: 0, max: 5 }, warnings);
  const guards = readGuardConfig(env, warnings);
  const model = env(modelEnv) ?? DEFAULT_DIRECT_MODEL;
  const catalogModel = new ModelCatalog().get(model);
  if (!catalogModel) {
    warnings.push(
      `${modelEnv}=${
        model.slice(0, 60)
      } is not in the model catalog: its cost cannot be priced, so its usage counts $0 against budgets`,
    );
  }
  if (missing.length > 0) return { ok: false, missing, warnings };
  return {
    ok: true,
    warnings,
    config: {
      openaiApiKey: env("OPENAI_API_KEY")!,
      openaiBaseUrl: (env("OPENAI_BASE_URL") ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, ""),
      model,
      ...(catalogModel ? { catalogModel } : {}),
      jwt: jwt.options,
      maxBodyBytes,
      maxOutputTokens,
      firstByteTimeoutMs,
      idleTimeoutMs,
      maxRetries,
      appName: env("APP_NAME") ?? "this product",
      rollout,
      routerUrl: (env("LLM_ROUTER_URL") ??
        (env("SUPABASE_URL") ? `${env("SUPABASE_URL")}/functions/v1/llm-router` : undefined))
        ?.replace(/\/+$/, ""),
      routerModel: env("DIRECT_ROUTER_MODEL") ?? "auto:general",
      guards,
    },
  };
}

/**
 * The guard settings. The rate defaults to llm-router's own numbers
 * (`LLM_RATE_LIMIT_RPS`/`_BURST`, else 10/s, bursts of 50);
 * `DIRECT_RATE_LIMIT_RPS`/`_BURST` set the direct functions apart.
 */
function readGuardConfig(env: EnvReader, warnings: string[]): DirectGuardConfig {
  const either = (direct: string, shared: string) => env(direct) !== undefined ? direct : shared;
  const rps = numberSetting(
    env,
    either("DIRECT_RATE_LIMIT_RPS", "LLM_RATE_LIMIT_RPS"),
    10,
    { min: 0, max: 1_000_000 },
    warnings,
  );
  const burst = intSetting(
    env,
    either("DIRECT_RATE_LIMIT_BURST", "LLM_RATE_LIMIT_BURST"),
    50,
    { min: 1, max: 10_000_000 },
    warnings,
  );
  return {
    // 0 switches the limit off.
    ...(rps > 0 ? { rate: { capacity: burst, refillPerSecond: rps } } : {}),
    failClosed: flagSetting(env, "LLM_GUARDS_FAIL_CLOSED"),
    cacheTtlMs: intSetting(env, "LLM_CACHE_TTL_MS", 300_000, { min: 0, max: 86_400_000 }, warnings),
    dbPoolSize: intSetting(env, "LLM_DB_POOL_SIZE", 3, { min: 1, max: 50 }, warnings),
  };
}
