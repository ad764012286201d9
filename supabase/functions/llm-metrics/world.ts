/**
 * What llm-metrics builds once per isolate, on its first request: the store
 * the router flushes metrics to, the catalog and breaker policy (to label
 * and read circuits), the credentials it accepts, and, with a database, the
 * budget settings. Nothing reads env while the module loads.
 */
import { type EnvReader, intSetting } from "../_shared/runtime/env.ts";
import type { Logger } from "../_shared/runtime/log.ts";
import type { CallerCredentials, Memberships } from "../_shared/http/callers.ts";
import { callerCredentialsFromEnv } from "../_shared/http/caller-credentials.ts";
import { ModelCatalog } from "../_shared/llm/catalog.ts";
import { routerConfigFrom } from "../_shared/llm/config.ts";
import type { DeploymentsByModel } from "../_shared/llm/deployment-config.ts";
import { StoreCircuitBreakers } from "../_shared/guards/store-breakers.ts";
import { BudgetGuard } from "../_shared/guards/budgets.ts";
import { GuardSettingsRepository } from "../_shared/data/guard-settings.ts";
import { membershipsIn } from "../_shared/data/memberships.ts";
import type { Db } from "../_shared/store/db.ts";
import { postgresDb } from "../_shared/store/postgres-db.ts";
import type { StateStore } from "../_shared/store/state-store.ts";
import { stateStoreFromEnv } from "../_shared/store/from-env.ts";
import { logStartupSummary } from "../_shared/health/startup-summary.ts";

/** What tests and the dev server may inject. */
export interface MetricsWorldDeps {
  env: EnvReader;
  log: Logger;
  now?: () => number;
  /** The store llm-router flushes to (the dev server shares one in memory). */
  store?: StateStore;
  db?: Db;
  /** Reaches the project's JWKS (tests inject one). */
  fetch?: typeof fetch;
}

/** The per-isolate world. */
export interface MetricsWorld {
  store: StateStore;
  now: () => number;
  credentials: CallerCredentials;
  catalog: ModelCatalog;
  /** The models served by several deployments, whose circuits are each deployment's. */
  deployments: DeploymentsByModel;
  breakers: StoreCircuitBreakers;
  memberships?: Memberships;
  guardSettings?: GuardSettingsRepository;
  budgets?: BudgetGuard;
}

/** Builds the world; configuration warnings are logged once. */
export async function buildMetricsWorld(deps: MetricsWorldDeps): Promise<MetricsWorld> {
  const { env, log } = deps;
  const now = deps.now ?? Date.now;
  const warnings: string[] = [];
  const db = deps.db ??
    (env("SUPABASE_DB_URL") ? postgresDb(env("SUPABASE_DB_URL")!, { max: 2 }) : undefined);
  const store = deps.store ?? await stateStoreFromEnv(env, now, warnings, db);
  const config = routerConfigFrom(env, warnings);
  // The same cache lifetime as llm-router's, so both read a changed budget equally soon.
  const cacheTtlMs = intSetting(
    env,
    "LLM_CACHE_TTL_MS",
    300_000,
    { min: 0, max: 86_400_000 },
    warnings,
  );
  const guardSettings = db ? new GuardSettingsRepository(db, store, cacheTtlMs) : undefined;
  const world: MetricsWorld = {
    store,
    now,
    credentials: callerCredentialsFromEnv(
      env,
      { realm: "llm-metrics", now, fetch: deps.fetch },
      warnings,
    ),
    catalog: new ModelCatalog(config.extraModels),
    deployments: config.deployments,
    breakers: new StoreCircuitBreakers(store, config.breaker),
    memberships: db ? membershipsIn(db) : undefined,
    guardSettings,
    budgets: guardSettings
      ? new BudgetGuard({
        store,
        recordedSpend: (rule, window) => guardSettings.recordedSpend(rule, window),
        // Reading a budget never settles anything, so it never crosses a threshold here.
        onAlert: () => {},
        now,
      })
      : undefined,
  };
  for (const warning of warnings) log.warn("config_warning", { detail: warning });
  logStartupSummary(log, "metrics_ready", {
    store: store.kind,
    database: db ? "postgres" : "none",
    userTokens: world.credentials.verifyToken ? "verified" : "not accepted",
  }, {
    databaseCheck: db ? () => db.query("select 1") : undefined,
    storeCheck: store.kind !== "memory" ? () => store.get("health:ping") : undefined,
  }, (work) => void work.catch(() => {}));
  return world;
}
