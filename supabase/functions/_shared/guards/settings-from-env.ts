/**
 * The deployment's guard settings from env: default rate limit, per-model
 * ceilings, price ceiling, failure policy, response cache, client-disconnect
 * policy and what the audit trail records.
 */
import { type EnvReader, flagSetting, intSetting, numberSetting } from "../runtime/env.ts";
import { jsonSetting } from "../llm/config.ts";
import type { ModelCeiling } from "./account-settings.ts";
import type { GuardPolicy } from "./gateway-guards.ts";

/** Env-level settings of the guards around a request. */
export interface GuardEnvSettings {
  policy: GuardPolicy;
  /** Response cache TTL in ms (0 turns the cache off). */
  responseCacheTtlMs: number;
  /** Use cases whose requests are cached unless they say `cache: false`. */
  responseCacheUseCases: Set<string>;
  /** What a client leaving mid-stream does to the upstream call. */
  onClientDisconnect: "finish" | "abort";
  /** Whether audit events carry the prompt's text (off by default). */
  auditPrompts: boolean;
}

const isCeilingMap = (value: unknown): value is Record<string, ModelCeiling> =>
  typeof value === "object" && value !== null && !Array.isArray(value) &&
  Object.values(value).every((ceiling) =>
    typeof ceiling === "object" && ceiling !== null &&
    Object.entries(ceiling).every(([unit, limit]) =>
      (unit === "rpm" || unit === "tpm") && Number.isInteger(limit) && (limit as number) > 0
    )
  );

/**
 * `LLM_MAX_PRICE_PER_MTOK` (USD per million tokens; unset: no ceiling). A
 * malformed value becomes 0, free models only: whoever set it meant to cap
 * spend, and a typo must not lift the cap.
 */
function priceCeiling(env: EnvReader, warnings: string[]): { maxPricePerMTok?: number } {
  if (env("LLM_MAX_PRICE_PER_MTOK") === undefined) return {};
  return {
    maxPricePerMTok: numberSetting(
      env,
      "LLM_MAX_PRICE_PER_MTOK",
      0,
      { min: 0, max: 1_000_000 },
      warnings,
    ),
  };
}

/** Reads the guard settings; malformed values are reported in `warnings` and replaced by defaults. */
export function guardSettingsFromEnv(env: EnvReader, warnings: string[]): GuardEnvSettings {
  const rps = numberSetting(env, "LLM_RATE_LIMIT_RPS", 10, { min: 0, max: 1_000_000 }, warnings);
  const burst = intSetting(env, "LLM_RATE_LIMIT_BURST", 50, { min: 1, max: 10_000_000 }, warnings);
  const disconnect = env("LLM_ON_CLIENT_DISCONNECT")?.trim().toLowerCase();
  if (disconnect !== undefined && disconnect !== "finish" && disconnect !== "abort") {
    warnings.push(`LLM_ON_CLIENT_DISCONNECT must be finish or abort; using finish`);
  }
  return {
    policy: {
      // 0 switches the default off: only accounts with their own row are limited.
      ...(rps > 0 ? { defaultRate: { capacity: burst, refillPerSecond: rps } } : {}),
      modelCeilings: jsonSetting(env, "LLM_MODEL_RATE_LIMITS", isCeilingMap, warnings) ?? {},
      ...priceCeiling(env, warnings),
      failClosed: flagSetting(env, "LLM_GUARDS_FAIL_CLOSED"),
    },
    responseCacheTtlMs: intSetting(
      env,
      "LLM_RESPONSE_CACHE_TTL_SECONDS",
      3_600,
      { min: 0, max: 30 * 86_400 },
      warnings,
    ) * 1_000,
    responseCacheUseCases: new Set(
      (env("LLM_RESPONSE_CACHE_USE_CASES") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    ),
    onClientDisconnect: disconnect === "abort" ? "abort" : "finish",
    auditPrompts: flagSetting(env, "LLM_AUDIT_PROMPTS"),
  };
}
