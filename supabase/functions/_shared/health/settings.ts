/**
 * llm-health's settings: how long a provider check stays fresh and how long
 * one ping may take. Read from env when the first request arrives.
 */
import { type EnvReader, intSetting } from "../runtime/env.ts";

/** How provider checks are paced. */
export interface HealthSettings {
  /** A stored check younger than this is reused instead of pinging again. */
  cacheMs: number;
  /** The longest one provider ping may take. */
  timeoutMs: number;
  /**
   * A forced refresh (`?refresh=1`, public) pings only when the last check is
   * at least this old: pings cost money, so nobody can make them back to back.
   */
  minRefreshMs: number;
}

/** The settings from `LLM_HEALTH_CACHE_SECONDS`, `LLM_HEALTH_TIMEOUT_MS` and `LLM_HEALTH_MIN_REFRESH_SECONDS`; `warnings` collects malformed ones. */
export function healthSettingsFrom(env: EnvReader, warnings: string[]): HealthSettings {
  return {
    // At least a second: pings must never run on every request.
    cacheMs: intSetting(env, "LLM_HEALTH_CACHE_SECONDS", 60, { min: 1, max: 86_400 }, warnings) *
      1_000,
    timeoutMs: intSetting(env, "LLM_HEALTH_TIMEOUT_MS", 5_000, { min: 100, max: 60_000 }, warnings),
    minRefreshMs: intSetting(
      env,
      "LLM_HEALTH_MIN_REFRESH_SECONDS",
      10,
      { min: 0, max: 86_400 },
      warnings,
    ) * 1_000,
  };
}
