/**
 * What llm-health builds once per isolate, on the first request that needs
 * it (liveness never does): the platform router, the state store, the
 * database, the provider checks and the scheduler's credentials. Nothing here
 * reads env while the module loads.
 */
import type { EnvReader } from "../_shared/runtime/env.ts";
import { type Logger, scrubbingLogger } from "../_shared/runtime/log.ts";
import { secretScrubberFromEnv } from "../_shared/security/known-secrets.ts";
import { StoreCircuitBreakers } from "../_shared/guards/store-breakers.ts";
import { ProviderHealthChecks } from "../_shared/health/provider-checks.ts";
import { healthSettingsFrom } from "../_shared/health/settings.ts";
import { routerConfigFrom } from "../_shared/llm/config.ts";
import { createRouterFromEnv, type RouterEnvDeps } from "../_shared/router-env/from-env.ts";
import type { Db } from "../_shared/store/db.ts";
import { stateStoreFromEnv } from "../_shared/store/from-env.ts";
import { postgresDb } from "../_shared/store/postgres-db.ts";
import { logStartupSummary } from "../_shared/health/startup-summary.ts";
import type { StateStore } from "../_shared/store/state-store.ts";
import { serverKeysFromEnv } from "../_shared/http/caller-credentials.ts";
import type { CheckCredentials } from "./check-auth.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";

/** What tests and the dev server may inject instead of building from env. */
export interface HealthAppDeps {
  env: EnvReader;
  log: Logger;
  now?: () => number;
  /** The store llm-router uses (same Upstash database and prefix), else built from env. */
  store?: StateStore;
  /** A database to use instead of SUPABASE_DB_URL. */
  db?: Db;
  /** Adapters or fetch for the router (tests). */
  routerDeps?: RouterEnvDeps;
}

/** The per-isolate world. */
export interface HealthWorld {
  checks: ProviderHealthChecks;
  store: StateStore;
  db?: Db;
  /** The longest a readiness check waits. */
  readyTimeoutMs: number;
  /** Who may run `POST /check`. */
  credentials: CheckCredentials;
}

/** The settings of the shared store's near cache, which health turns off. */
const NEAR_CACHE_SETTINGS = new Set(["LLM_STATE_NEAR_CACHE_MS", "LLM_REDIS_NEAR_CACHE_MS"]);

/** Readiness answers load balancers: it must be quick even when a ping would not be. */
const READY_TIMEOUT_MS = 2_000;

/** Builds the world from `deps`; warnings about settings are logged once. */
export async function buildHealthWorld(deps: HealthAppDeps): Promise<HealthWorld> {
  const { env } = deps;
  const warnings: string[] = [];
  const now = deps.now ?? Date.now;
  const settings = healthSettingsFrom(env, warnings);
  const db = deps.db ??
    (env("SUPABASE_DB_URL") ? postgresDb(env("SUPABASE_DB_URL")!, { max: 1 }) : undefined);
  // Health reads results and the lock another isolate just wrote: no near cache may answer for
  // the shared store.
  const store = deps.store ??
    await stateStoreFromEnv(
      (name) => NEAR_CACHE_SETTINGS.has(name) ? "0" : env(name),
      now,
      warnings,
      db,
    );
  const router = createRouterFromEnv(env, deps.routerDeps, warnings);
  // The env's secrets, scrubbed in every encoding from each line this world logs.
  const log = scrubbingLogger(
    deps.log,
    secretScrubberFromEnv(env, router.keyEnvNames()),
  );
  const onStoreError = storeWarnings(log, store.kind);
  // The router's own policy, so an expired OPEN reads as HALF_OPEN exactly as routing sees it.
  const circuits = new StoreCircuitBreakers(store, routerConfigFrom(env, []).breaker, onStoreError);
  for (const warning of warnings) log.warn("config_warning", { detail: warning });
  logStartupSummary(log, "health_ready", {
    providers: router.availableProviders().join(",") || "none",
    store: store.kind,
    database: db ? "postgres" : "none",
    cacheSeconds: settings.cacheMs / 1_000,
  }, {
    databaseCheck: db ? () => db.query("select 1") : undefined,
    storeCheck: store.kind !== "memory" ? () => store.get("health:ping") : undefined,
  }, (work) => void work.catch(() => {}));
  return {
    checks: new ProviderHealthChecks({
      store,
      router,
      circuits,
      settings,
      now,
      log,
      onStoreError,
    }),
    store,
    db,
    readyTimeoutMs: Math.min(READY_TIMEOUT_MS, settings.timeoutMs),
    credentials: { serverKeys: serverKeysFromEnv(env), jobSecret: env("LLM_JOB_SECRET") },
  };
}

/** How often a failing store is logged: one check reads a circuit per model, and each would warn. */
const STORE_WARNING_EVERY_MS = 10_000;

/** A `health_store_unavailable` warning, at most once per 10 s per isolate. */
function storeWarnings(log: Logger, kind: StateStore["kind"]): (error: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (error) => {
    if (performance.now() - last < STORE_WARNING_EVERY_MS) return;
    last = performance.now();
    log.warn("health_store_unavailable", {
      store: kind,
      detail: errorMessage(error),
    });
  };
}
