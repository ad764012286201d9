/**
 * Configuration of the direct streaming functions, read from env on the first
 * request. Missing required settings make the function answer 503 with the
 * names of what is missing; malformed optional ones fall back with a warning.
 */
import { EnvReader, flagSetting, intSetting } from "../http/env.ts";
import { RolloutFlag, rolloutFlagFrom } from "./rollout.ts";
import { type JwtVerifierOptions, supabaseJwtVerifierOptions } from "../security/jwt-verifier.ts";

/** Settings of one direct function. */
export interface DirectConfig {
  openaiApiKey: string;
  /** Base URL including `/v1`, as the OpenAI SDK's `OPENAI_BASE_URL`. */
  openaiBaseUrl: string;
  model: string;
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
  if (missing.length > 0) return { ok: false, missing, warnings };
  return {
    ok: true,
    warnings,
    config: {
      openaiApiKey: env("OPENAI_API_KEY")!,
      openaiBaseUrl: (env("OPENAI_BASE_URL") ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, ""),
      model: env(modelEnv) ?? DEFAULT_DIRECT_MODEL,
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
    },
  };
}
