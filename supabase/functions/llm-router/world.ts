/**
 * Everything llm-router builds once per isolate, on its first request: the
 * router, credentials, the database and the repositories over it, the state
 * store, the key vault. Nothing here reads env while the module loads.
 */
import { EnvReader, intSetting } from "../_shared/runtime/env.ts";
import { type Logger, scrubbingLogger } from "../_shared/runtime/log.ts";
import { secretScrubberFromEnv } from "../_shared/security/known-secrets.ts";
import { createRouterFromEnv, type RouterEnvDeps } from "../_shared/llm/from-env.ts";
import { routerConfigFrom } from "../_shared/llm/config.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import { AuditLog } from "../_shared/data/audit.ts";
import { JobQueue } from "../_shared/data/jobs.ts";
import { PreferenceRepository } from "../_shared/data/preferences.ts";
import { ProviderKeyRepository } from "../_shared/data/provider-keys.ts";
import type { UsageRecord } from "../_shared/data/usage.ts";
import { BatchQueue } from "../_shared/data/batch-queue.ts";
import type { Db } from "../_shared/store/db.ts";
import { postgresDb } from "../_shared/store/postgres-db.ts";
import type { StateStore } from "../_shared/store/state-store.ts";
import { stateStoreFromEnv } from "../_shared/store/from-env.ts";
import { type AuditQueue, flushOnShutdown } from "../_shared/data/audit-queue.ts";
import { type RecordQueueName, recordQueues } from "../_shared/data/record-queues.ts";
import { backgroundWork } from "../_shared/runtime/background.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";
import { budgetAlertReporter } from "../_shared/guards/budget-alert-report.ts";
import { GuardSettingsRepository } from "../_shared/data/guard-settings.ts";
import { GatewayGuards } from "../_shared/guards/gateway-guards.ts";
import { ResponseCache } from "../_shared/guards/response-cache.ts";
import {
  type GuardEnvSettings,
  guardSettingsFromEnv,
} from "../_shared/guards/settings-from-env.ts";
import { StoreCircuitBreakers } from "../_shared/guards/store-breakers.ts";
import { MetricsRecorder } from "../_shared/metrics/recorder.ts";
import { logStartupSummary } from "../_shared/health/startup-summary.ts";
import { maskKey } from "../_shared/runtime/redact.ts";
import { USE_CASES } from "../_shared/llm/catalog.ts";
import { KeyVault } from "../_shared/security/key-vault.ts";
import { callerCredentialsFromEnv } from "../_shared/http/caller-credentials.ts";
import { HttpError } from "../_shared/http/errors.ts";
import { DEFAULT_BODY_TIMEOUT_MS } from "../_shared/http/body.ts";
import { type EmbeddingLimits, embeddingLimitsFromEnv } from "./embedding-limits.ts";
import type { CallerCredentials } from "../_shared/http/callers.ts";

/** What tests and the dev server may inject instead of building from env. */
export interface WorldDeps {
  env: EnvReader;
  log: Logger;
  now?: () => number;
  routerDeps?: RouterEnvDeps;
  /** A database to use instead of SUPABASE_DB_URL (the dev server's PGlite, a test's database). */
  db?: Db;
  store?: StateStore;
  /** Keeps work alive after the response (Supabase's EdgeRuntime.waitUntil). */
  waitUntil?: (work: Promise<unknown>) => void;
}

/** The per-isolate world. */
export interface RouterWorld {
  router: LLMRouter;
  /** The function's logger, scrubbing the env's secrets (in any encoding) from every line. */
  log: Logger;
  credentials: CallerCredentials;
  maxBodyBytes: number;
  /** How long a request body may take to arrive (LLM_BODY_TIMEOUT_MS). */
  bodyTimeoutMs: number;
  /** Per-request embeddings caps and the isolate's slots for upstream embedding calls. */
  embeddings: EmbeddingLimits;
  store: StateStore;
  now: () => number;
  /** Rate limits, model ceilings and budgets. */
  guards: GatewayGuards;
  /** The circuits every router of this isolate uses (the platform's and each account's), in the store. */
  circuits: StoreCircuitBreakers;
  guardSettings?: GuardSettingsRepository;
  guardEnv: GuardEnvSettings;
  /** Undefined when LLM_RESPONSE_CACHE_TTL_SECONDS is 0. */
  responseCache?: ResponseCache;
  /** Request and budget-alert audit events, written in batches. */
  auditQueue?: AuditQueue;
  /** Request counters, flushed to the store in batches for llm-metrics. */
  metrics: MetricsRecorder;
  db?: Db;
  preferences?: PreferenceRepository;
  keys?: ProviderKeyRepository;
  /** The key vault, or why there is none (BYOK writes answer 503 with it). */
  vault: KeyVault | string;
  /** llm_usage rows, written in batches (100 rows or 1 s). */
  usage?: BatchQueue<UsageRecord>;
  audit?: AuditLog;
  jobs?: JobQueue;
  jobLeaseMs: number;
  jobBatchSize: number;
  waitUntil: (work: Promise<unknown>) => void;
  /** Whether `waitUntil` really outlives the response (Supabase's runtime, or one injected). */
  background: boolean;
  /** Writes what is queued and stops timers (isolate shutdown, tests). */
  close(): Promise<void>;
}

/** Builds the world from `deps`; warnings about settings are logged once. */
export async function buildWorld(deps: WorldDeps): Promise<RouterWorld> {
  const { env } = deps;
  const warnings: string[] = [];
  const now = deps.now ?? Date.now;
  const db = deps.db ?? (env("SUPABASE_DB_URL")
    ? postgresDb(env("SUPABASE_DB_URL")!, {
      max: intSetting(env, "LLM_DB_POOL_SIZE", 3, { min: 1, max: 50 }, warnings),
    })
    : undefined);
  const store = deps.store ?? await stateStoreFromEnv(env, now, warnings);
  const cacheTtlMs = intSetting(
    env,
    "LLM_CACHE_TTL_MS",
    300_000,
    { min: 0, max: 86_400_000 },
    warnings,
  );
  const preferences = db ? new PreferenceRepository(db, store, cacheTtlMs) : undefined;
  // One breaker store for all of the isolate's routers (an account's router too): the circuits API resets through it.
  let circuits: StoreCircuitBreakers | undefined;
  const router = createRouterFromEnv(env, {
    ...(preferences ? { preferences } : {}),
    // Circuits live in the store: with Redis, every isolate sees one open together.
    breakers: (policy) =>
      circuits ??= new StoreCircuitBreakers(
        store,
        policy,
        (error) =>
          log.warn("guard_unavailable", {
            guard: "circuit",
            detail: errorMessage(error),
            failOpen: true,
          }),
      ),
    ...deps.routerDeps,
  }, warnings);
  // The env's secrets, scrubbed in every encoding from each line this world logs.
  const secrets = secretScrubberFromEnv(env, router.providers().map(({ spec }) => spec.keyEnv));
  const log = scrubbingLogger(deps.log, secrets);

  let vault: KeyVault | string = "set LLM_KEY_ENCRYPTION_KEYS to store provider keys";
  if (env("LLM_KEY_ENCRYPTION_KEYS")) {
    try {
      vault = await KeyVault.fromSettings(
        env("LLM_KEY_ENCRYPTION_KEYS"),
        env("LLM_KEY_ENCRYPTION_ACTIVE"),
      );
    } catch (error) {
      vault = `LLM_KEY_ENCRYPTION_KEYS is not valid: ${
        error instanceof Error ? error.message : "unreadable"
      }`;
      warnings.push(vault);
    }
  }

  const credentials = callerCredentialsFromEnv(env, {
    realm: "llm-router",
    now,
    fetch: deps.routerDeps?.fetch,
  }, warnings);

  const { waitUntil, outlivesResponse } = backgroundWork(log, deps.waitUntil);
  // The metrics recorder exists only below, but a set-aside row is counted when it happens.
  let countSetAside: (queue: RecordQueueName, rows: number) => void = () => {};
  const records = recordQueues(db, {
    log,
    waitUntil,
    onSetAside: (queue, rows) => countSetAside(queue, rows),
  });
  const usage = records.usage;
  const auditQueue = records.audit;
  const audit = db ? new AuditLog(db) : undefined;
  const metrics = new MetricsRecorder(store, {
    providers: new Set(router.providers().map(({ spec }) => spec.name)),
    models: new Set(router.catalog.all().map((model) => model.id)),
    useCases: new Set<string>(USE_CASES),
  }, {
    waitUntil,
    now,
    onWriteError: (error) =>
      log.warn("metrics_write_failed", {
        detail: errorMessage(error),
      }),
  });
  countSetAside = (queue, rows) => metrics.countSetAside(queue, rows);
  const closeAll = async () => {
    // Queues first: a row they set aside is counted in the metrics closed after them.
    await records.close();
    await metrics.close();
  };
  const stopShutdownFlush = flushOnShutdown({ close: closeAll });
  const guardEnv = guardSettingsFromEnv(env, warnings);
  const guardSettings = db ? new GuardSettingsRepository(db, store, cacheTtlMs) : undefined;
  const guards = new GatewayGuards({
    store,
    settings: guardSettings,
    policy: guardEnv.policy,
    now,
    log,
    waitUntil,
    onBudgetAlert: budgetAlertReporter(log, auditQueue),
  });

  // Read before the warnings are logged, so a bad value is reported like every other.
  const limits = {
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
    embeddings: embeddingLimitsFromEnv(env, warnings),
    jobLeaseMs: intSetting(
      env,
      "LLM_JOB_LEASE_MS",
      300_000,
      { min: 1_000, max: 3_600_000 },
      warnings,
    ),
    jobBatchSize: intSetting(env, "LLM_JOB_BATCH_SIZE", 5, { min: 1, max: 100 }, warnings),
  };
  for (const warning of warnings) log.warn("config_warning", { detail: warning });
  logStartupSummary(log, "router_ready", {
    providers: router.availableProviders().join(",") || "none",
    // Masked: enough to tell which key is deployed, never enough to use it.
    keys: router.providers().filter((p) => p.hasKey && p.spec.requiresKey)
      .map((p) => `${p.spec.name}=${maskKey(env(p.spec.keyEnv))}`).join(",") || "none",
    database: db ? (deps.db ? "injected" : "postgres") : "none",
    byok: typeof vault === "string" ? "off" : `on (${vault.activeVersion})`,
    store: store.kind,
    userTokens: credentials.verifyToken ? "verified" : "not accepted",
    rateLimit: guardEnv.policy.defaultRate
      ? `${guardEnv.policy.defaultRate.refillPerSecond}/s burst ${guardEnv.policy.defaultRate.capacity}`
      : "off",
  }, {
    databaseCheck: db ? () => db.query("select 1") : undefined,
    storeCheck: store.kind === "upstash" ? () => store.get("health:ping") : undefined,
  }, waitUntil);
  return {
    router,
    log,
    credentials,
    ...limits,
    store,
    now,
    guards,
    // Undefined only when routerDeps injected breakers of its own; resets then reach the store's.
    circuits: circuits ?? new StoreCircuitBreakers(store, routerConfigFrom(env, []).breaker),
    guardSettings,
    guardEnv,
    responseCache: guardEnv.responseCacheTtlMs > 0
      ? new ResponseCache(store, guardEnv.responseCacheTtlMs)
      : undefined,
    auditQueue,
    metrics,
    db,
    preferences,
    keys: db ? new ProviderKeyRepository(db, store, cacheTtlMs) : undefined,
    vault,
    usage,
    audit,
    jobs: db ? new JobQueue(db) : undefined,
    waitUntil,
    background: outlivesResponse,
    close: async () => {
      stopShutdownFlush();
      await closeAll();
    },
  };
}

/** The database, or a 503 saying how to configure one. */
export function requireDb<T>(value: T | undefined): T {
  if (value === undefined) {
    throw new HttpError(503, "CONFIG_MISSING", "This needs the database: set SUPABASE_DB_URL", {
      missing: ["SUPABASE_DB_URL"],
    });
  }
  return value;
}
