/**
 * llm-router's composition root: what it builds once per isolate, on its
 * first request, out of small builders (settings, store, database and
 * repositories, router and circuits, logger, vault, credentials, records,
 * guards), and the route groups, each handed only the services it uses.
 * Nothing here reads env while the module loads.
 */
import type { EnvReader } from "../_shared/runtime/env.ts";
import { type Logger, scrubbingLogger } from "../_shared/runtime/log.ts";
import { backgroundWork, type WaitUntil } from "../_shared/runtime/background.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";
import { maskKey } from "../_shared/runtime/redact.ts";
import { secretScrubberFromEnv } from "../_shared/security/known-secrets.ts";
import type { Db } from "../_shared/store/db.ts";
import type { StateStore } from "../_shared/store/state-store.ts";
import { stateStoreFromEnv } from "../_shared/store/from-env.ts";
import { USE_CASES } from "../_shared/llm/catalog.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import { GatewayGuards } from "../_shared/guards/gateway-guards.ts";
import { ResponseCache } from "../_shared/guards/response-cache.ts";
import { budgetAlertReporter } from "../_shared/guards/budget-alert-report.ts";
import { callerCredentialsFromEnv } from "../_shared/http/caller-credentials.ts";
import type { CallerCredentials, Memberships } from "../_shared/http/callers.ts";
import { logStartupSummary } from "../_shared/health/startup-summary.ts";
import { AccountRouters } from "./account-routers.ts";
import { alertRoutes } from "./alerts-api.ts";
import { anthropicRoutes } from "./anthropic-routes.ts";
import { ChangeAudit } from "./change-audit.ts";
import { ChatFlow } from "./chat-flow.ts";
import { ChatPipeline } from "./chat-pipeline.ts";
import { chatRoutes } from "./chat-routes.ts";
import { circuitRoutes } from "./circuits-api.ts";
import { guardRoutes } from "./guards-api.ts";
import { JobRunner } from "./job-runner.ts";
import { jobRoutes } from "./jobs-api.ts";
import { keyRoutes } from "./keys-api.ts";
import { gatewayKeyLookup } from "./gateway-key-lookup.ts";
import { openAIRoutes } from "./openai-routes.ts";
import { preferencesRoutes } from "./preferences-api.ts";
import { providerRoutes } from "./providers-api.ts";
import { rateLimitStatusRoutes } from "./rate-limit-status-api.ts";
import { RequestReports } from "./request-report.ts";
import { responsesRoutes } from "./responses-routes.ts";
import type { Route } from "./routes.ts";
import { routerAlerts } from "./world/alerts.ts";
import { databaseFromEnv, repositoriesOver } from "./world/data.ts";
import { type Records, recordsOver } from "./world/records.ts";
import { type PlatformRouterDeps, platformRouterFrom } from "./world/router.ts";
import { routerSettingsFrom } from "./world/settings.ts";
import { vaultFromEnv } from "./world/vault.ts";

/** What tests and the dev server may inject instead of building from env. */
export interface WorldDeps {
  env: EnvReader;
  log: Logger;
  now?: () => number;
  /** Adapters, fetch, clock … for the router (its circuits are always the store's). */
  routerDeps?: PlatformRouterDeps;
  /** A database to use instead of SUPABASE_DB_URL (the dev server's PGlite, a test's database). */
  db?: Db;
  store?: StateStore;
  /** Keeps work alive after the response (Supabase's EdgeRuntime.waitUntil). */
  waitUntil?: WaitUntil;
}

/** What the handler needs of the world for every request. */
export interface RouterWorld {
  /** The function's logger, scrubbing the env's secrets (in any encoding) from every line. */
  log: Logger;
  credentials: CallerCredentials;
  /** The users' account memberships; absent without a database. */
  memberships?: Memberships;
  /** Largest body and how long it may take to arrive. */
  body: { maxBytes: number; timeoutMs: number };
  routes: readonly Route[];
  /** The usage and audit queues and the metrics recorder. */
  records: Records;
  /** The body of `GET /health`. */
  health(): Record<string, unknown>;
  /** Writes queued usage rows, audit events and metrics now; the world keeps running. */
  flush(): Promise<void>;
  /** Writes what is queued and stops timers (isolate shutdown, tests). */
  close(): Promise<void>;
}

/** Builds the world from `deps`; every warning about a setting is logged, once. */
export async function buildWorld(deps: WorldDeps): Promise<RouterWorld> {
  const { env } = deps;
  const now = deps.now ?? Date.now;
  const warnings: string[] = [];
  const settings = routerSettingsFrom(env, warnings);
  const db = deps.db ?? databaseFromEnv(env, settings.dbPoolSize);
  // With LLM_STATE_STORE=postgres (or auto, without Upstash) the store lives in this database.
  const store = deps.store ?? await stateStoreFromEnv(env, now, warnings, db);
  const data = repositoriesOver(db, store, settings.cacheTtlMs);
  const { router, circuits } = platformRouterFrom(env, store, {
    preferences: data.preferences,
    deps: deps.routerDeps,
    onCircuitError: (error) =>
      log.warn("guard_unavailable", {
        guard: "circuit",
        detail: errorMessage(error),
        failOpen: true,
      }),
    onCircuitTransition: (transition) =>
      alerts.circuitTransition(transition, circuits.policy.openMs),
  }, warnings);
  // The env's secrets, scrubbed in every encoding from each line this world logs.
  const log = scrubbingLogger(
    deps.log,
    secretScrubberFromEnv(env, router.keyEnvNames()),
  );
  const vault = await vaultFromEnv(env, warnings);
  const credentials = callerCredentialsFromEnv(env, {
    realm: "llm-router",
    now,
    fetch: deps.routerDeps?.fetch,
  }, warnings);
  // Every builder that reads env has run: nothing can add a warning after this.
  for (const warning of warnings) log.warn("config_warning", { detail: warning });

  const { waitUntil, outlivesResponse } = backgroundWork(log, deps.waitUntil);
  const alerts = routerAlerts(db, {
    log,
    waitUntil,
    now,
    httpWebhooks: settings.httpWebhooks,
    runner: () => jobRunner,
  });
  // Gateway keys (`llmk_…`) live in the database: without one they are refused.
  credentials.gatewayKeys = data.gatewayKeys &&
    gatewayKeyLookup(data.gatewayKeys, { now, waitUntil, log });
  const records = recordsOver(db, store, {
    providers: new Set(router.providers().map(({ spec }) => spec.name)),
    models: new Set(router.catalog.all().map((model) => model.id)),
    useCases: new Set<string>(USE_CASES),
    deployments: new Set(router.deployments().map(({ deployment }) => deployment.name)),
  }, { log, waitUntil, now });
  const { usage, audit: auditQueue } = records.queues;
  const guardEnv = settings.guards;
  const reportBudgetAlert = budgetAlertReporter(log, auditQueue);
  const guards = new GatewayGuards({
    store,
    settings: data.guardSettings,
    agentCeilings: data.preferences,
    policy: guardEnv.policy,
    now,
    log,
    waitUntil,
    onBudgetAlert: (alert) => {
      reportBudgetAlert(alert);
      alerts.budgetAlert(alert);
    },
    deploymentCeilings: router.deployments().some(({ deployment }) => deployment.ceiling),
  });

  const routers = new AccountRouters(router, data.keys, vault);
  const audit = new ChangeAudit(data.audit, waitUntil);
  const reports = new RequestReports({
    log,
    usage,
    audit: auditQueue,
    metrics: records.metrics,
    waitUntil,
    now,
  });
  const pipeline = new ChatPipeline({
    catalog: router.catalog,
    routers,
    flow: new ChatFlow({
      guards,
      cache: guardEnv.responseCacheTtlMs > 0
        ? new ResponseCache(store, guardEnv.responseCacheTtlMs)
        : undefined,
      cacheUseCases: guardEnv.responseCacheUseCases,
      onClientDisconnect: guardEnv.onClientDisconnect,
      waitUntil,
      now,
      log,
    }),
    reports,
    auditPrompts: guardEnv.auditPrompts,
    onClientDisconnect: guardEnv.onClientDisconnect,
    waitUntil,
    now,
  });
  const jobRunner = data.jobs && new JobRunner({
    jobs: data.jobs,
    pipeline,
    leaseMs: settings.jobLeaseMs,
    log,
    handlers: alerts.jobHandlers,
  });
  const routes: Route[] = [
    ...chatRoutes(pipeline),
    ...anthropicRoutes({ pipeline, routers }),
    ...responsesRoutes(pipeline),
    ...openAIRoutes({ routers, guards, embeddings: settings.embeddings, reports, waitUntil }),
    ...preferencesRoutes({ preferences: data.preferences, routers, audit }),
    ...providerRoutes({ routers, keys: data.keys, vault, audit }),
    ...keyRoutes({ keys: data.gatewayKeys, catalog: router.catalog, audit, now }),
    ...guardRoutes({
      settings: data.guardSettings,
      budgets: guards.budgets,
      policy: guardEnv.policy,
      catalog: router.catalog,
      audit,
    }),
    ...rateLimitStatusRoutes({ guards, audit }),
    ...circuitRoutes({ circuits, router, audit, now }),
    ...alertRoutes({
      webhooks: alerts.webhooks,
      deliveries: alerts.deliveries,
      httpWebhooks: settings.httpWebhooks,
      audit,
    }),
    ...jobRoutes({
      jobs: data.jobs,
      runner: jobRunner,
      batchSize: settings.jobBatchSize,
      waitUntil,
      background: outlivesResponse,
      log,
    }),
  ];

  logStartupSummary(log, "router_ready", {
    providers: router.availableProviders().join(",") || "none",
    keys: keysSummary(router, env),
    deployments: deploymentsSummary(router),
    database: db ? (deps.db ? "injected" : "postgres") : "none",
    byok: typeof vault === "string" ? "off" : `on (${vault.activeVersion})`,
    store: store.kind,
    userTokens: credentials.verifyToken ? "verified" : "not accepted",
    rateLimit: guardEnv.policy.defaultRate
      ? `${guardEnv.policy.defaultRate.refillPerSecond}/s burst ${guardEnv.policy.defaultRate.capacity}`
      : "off",
  }, {
    databaseCheck: db ? () => db.query("select 1") : undefined,
    storeCheck: store.kind !== "memory" ? () => store.get("health:ping") : undefined,
  }, waitUntil);

  return {
    log,
    credentials,
    memberships: data.memberships,
    body: { maxBytes: settings.maxBodyBytes, timeoutMs: settings.bodyTimeoutMs },
    routes,
    records,
    health: () => ({
      status: "ok",
      function: "llm-router",
      providers: router.availableProviders(),
      store: store.kind,
      // What the audit queue holds, wrote and dropped: the numbers metrics report.
      auditQueue: auditQueue?.stats() ?? null,
      usageQueue: usage?.stats() ?? null,
    }),
    flush: () => records.flush(),
    close: () => records.close(),
  };
}

/** Each model's deployments with their weights (`gpt-4o-mini=key-a:3/mirror:1`), never a key. */
function deploymentsSummary(router: LLMRouter): string {
  const byModel = new Map<string, string[]>();
  for (const { model, deployment } of router.deployments()) {
    byModel.set(model, [...byModel.get(model) ?? [], `${deployment.name}:${deployment.weight}`]);
  }
  return [...byModel].map(([model, names]) => `${model}=${names.join("/")}`).join(",") || "none";
}

/** The deployed platform keys, masked: enough to tell which key it is, never enough to use it. */
function keysSummary(router: LLMRouter, env: EnvReader): string {
  return router.providers().filter((p) => p.hasKey && p.spec.requiresKey)
    .map((p) => `${p.spec.name}=${maskKey(env(p.spec.keyEnv))}`).join(",") || "none";
}
