/**
 * llm-router's own settings from env, read once per isolate in one place:
 * body limits, cache lifetime, the database pool, jobs, embeddings and the
 * guards. A bad value falls back to its default and says so in `warnings`,
 * which the world logs, every one.
 */
import { type EnvReader, intSetting } from "../../_shared/runtime/env.ts";
import { DEFAULT_BODY_TIMEOUT_MS } from "../../_shared/http/body.ts";
import {
  type GuardEnvSettings,
  guardSettingsFromEnv,
} from "../../_shared/guards/settings-from-env.ts";
import { type HttpWebhooks, httpWebhooksSetting } from "../../_shared/alerts/webhook-url.ts";
import { type EmbeddingLimits, embeddingLimitsFromEnv } from "../embedding-limits.ts";

/** The settings. */
export interface RouterSettings {
  /** Largest request body (LLM_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** How long a request body may take to arrive (LLM_BODY_TIMEOUT_MS). */
  bodyTimeoutMs: number;
  /** How long settings read from the database are reused (LLM_CACHE_TTL_MS). */
  cacheTtlMs: number;
  /** Connections to SUPABASE_DB_URL (LLM_DB_POOL_SIZE). */
  dbPoolSize: number;
  /** How long a claimed job is its worker's (LLM_JOB_LEASE_MS). */
  jobLeaseMs: number;
  /** Jobs one run claims when it names no limit (LLM_JOB_BATCH_SIZE). */
  jobBatchSize: number;
  /** Per-request embeddings caps and the isolate's slots for upstream embedding calls. */
  embeddings: EmbeddingLimits;
  /** Rate limits, ceilings, response cache, disconnect policy, prompt auditing. */
  guards: GuardEnvSettings;
  /** Whether alert webhooks may be plain http to this machine (LLM_ALLOW_HTTP_WEBHOOKS). */
  httpWebhooks: HttpWebhooks;
}

/** Reads the settings; malformed values go to `warnings`. */
export function routerSettingsFrom(env: EnvReader, warnings: string[]): RouterSettings {
  return {
    maxBodyBytes: intSetting(
      env,
      "LLM_MAX_BODY_BYTES",
      4_194_304,
      { min: 1_024, max: 52_428_800 },
      warnings,
    ),
    bodyTimeoutMs: intSetting(
      env,
      "LLM_BODY_TIMEOUT_MS",
      DEFAULT_BODY_TIMEOUT_MS,
      { min: 100, max: 300_000 },
      warnings,
    ),
    cacheTtlMs: intSetting(env, "LLM_CACHE_TTL_MS", 300_000, { min: 0, max: 86_400_000 }, warnings),
    dbPoolSize: intSetting(env, "LLM_DB_POOL_SIZE", 3, { min: 1, max: 50 }, warnings),
    jobLeaseMs: intSetting(
      env,
      "LLM_JOB_LEASE_MS",
      300_000,
      { min: 1_000, max: 3_600_000 },
      warnings,
    ),
    jobBatchSize: intSetting(env, "LLM_JOB_BATCH_SIZE", 5, { min: 1, max: 100 }, warnings),
    embeddings: embeddingLimitsFromEnv(env, warnings),
    guards: guardSettingsFromEnv(env, warnings),
    httpWebhooks: httpWebhooksSetting(env, warnings),
  };
}
