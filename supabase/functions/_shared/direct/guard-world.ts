/**
 * What the direct path's guards run on, built once per isolate on the first
 * request that needs them (never at import): the StateStore (the same one
 * and keys as llm-router's: LLM_STATE_STORE), the database (SUPABASE_DB_URL)
 * with the guard settings, memberships and the llm_usage queue over it, the
 * budget holds and the metrics recorder. Drivers load only when configured:
 * `@upstash/redis` and `postgres` sit behind dynamic imports in store/.
 */
import { type EnvReader } from "../runtime/env.ts";
import type { Logger } from "../runtime/log.ts";
import { BUILT_IN_MODELS } from "../llm/catalog.ts";
import { flushOnShutdown } from "../data/audit-queue.ts";
import { type RecordQueueName, recordQueues } from "../data/record-queues.ts";
import { backgroundWork } from "../runtime/background.ts";
import { errorMessage } from "../runtime/error-message.ts";
import { budgetAlertReporter } from "../guards/budget-alert-report.ts";
import { GuardSettingsRepository } from "../data/guard-settings.ts";
import { type BudgetAlert, BudgetHolds } from "../guards/budget-holds.ts";
import { budgetAlertEvent } from "../alerts/events.ts";
import { AlertDeliveries } from "../alerts/deliveries.ts";
import { AlertOutbox } from "../alerts/outbox.ts";
import type { Db } from "../store/db.ts";
import { stateStoreFromEnv } from "../store/from-env.ts";
import { postgresDb } from "../store/postgres-db.ts";
import type { StateStore } from "../store/state-store.ts";
import { cachedMemberships } from "./account.ts";
import type { DirectGuardConfig } from "./config.ts";
import { DirectGuards } from "./guards.ts";
import { type DirectRequestFacts, DirectRequestReport } from "./usage-report.ts";

/** What may be injected instead of built from env (tests, a dev server sharing its database). */
export interface GuardWorldDeps {
  env: EnvReader;
  log: Logger;
  now: () => number;
  /** A database to use instead of SUPABASE_DB_URL. */
  db?: Db;
  /** A store to use instead of the one env configures (LLM_STATE_STORE). */
  store?: StateStore;
  /** Keeps work alive after the response; default `EdgeRuntime.waitUntil` when present. */
  waitUntil?: (work: Promise<unknown>) => void;
}

/** The per-isolate guard world of one direct function. */
export interface DirectGuardWorld {
  guards: DirectGuards;
  /** A report for one request, writing to this world's usage queue and metrics. */
  report(facts: DirectRequestFacts): DirectRequestReport;
  /** Writes queued usage rows, audit events and metrics now. */
  flush(): Promise<void>;
  /** Flushes and stops the timers. */
  close(): Promise<void>;
}

/** Builds the world of the function `name`; throws only when a module cannot load. */
export async function buildGuardWorld(
  deps: GuardWorldDeps,
  config: DirectGuardConfig,
  name: string,
): Promise<DirectGuardWorld> {
  const { env, log, now } = deps;
  const warnings: string[] = [];
  const dbUrl = env("SUPABASE_DB_URL");
  const db = deps.db ?? (dbUrl ? postgresDb(dbUrl, { max: config.dbPoolSize }) : undefined);
  const store = deps.store ?? await stateStoreFromEnv(env, now, warnings, db);
  const { waitUntil } = backgroundWork(log, deps.waitUntil);
  // The metrics recorder loads below, but a set-aside row is counted when it happens.
  let countSetAside: (queue: RecordQueueName, rows: number) => void = () => {};
  const records = recordQueues(db, {
    log,
    waitUntil,
    onSetAside: (queue, rows) => countSetAside(queue, rows),
  });
  // Loaded here rather than at the top: metrics/sample.ts reads the router's error codes
  // (llm/errors.ts), which the direct functions keep out of their static graph.
  const { MetricsRecorder } = await import("../metrics/recorder.ts");
  const metrics = new MetricsRecorder(store, {
    providers: new Set(["openai"]),
    models: new Set(BUILT_IN_MODELS.map((model) => model.id)),
    useCases: new Set([name]),
  }, {
    waitUntil,
    now,
    onWriteError: (error) => log.warn("metrics_write_failed", { detail: errorMessage(error) }),
  });
  countSetAside = (queue, rows) => metrics.countSetAside(queue, rows);

  const settings = db ? new GuardSettingsRepository(db, store, config.cacheTtlMs) : undefined;
  const reportAlert = budgetAlertReporter(log, records.audit);
  // Budget alerts reach the webhooks from here too (the spend is the same budget's); llm-router
  // delivers them, woken by the llm_jobs insert trigger or its sweep.
  const deliveries = db ? new AlertDeliveries(db) : undefined;
  const outbox = deliveries &&
    new AlertOutbox({ enqueue: (event) => deliveries.enqueue(event), waitUntil, log });
  const onAlert = (alert: BudgetAlert) => {
    reportAlert(alert);
    outbox?.publish(budgetAlertEvent(alert, now()));
  };
  const guards = new DirectGuards({
    store,
    ...(config.rate ? { rate: config.rate } : {}),
    ...(settings
      ? {
        settings,
        budgets: new BudgetHolds({
          store,
          recordedSpend: (rule, window) => settings.recordedSpend(rule, window),
          onAlert,
          now,
        }),
        memberships: cachedMemberships(db!, store, config.cacheTtlMs),
      }
      : {}),
    failClosed: config.failClosed,
    now,
    log,
    waitUntil,
  });

  const flush = async () => {
    await records.flush();
    await metrics.flush();
  };
  const closeAll = async () => {
    // Queues first: a row they set aside is counted in the metrics closed after them.
    await records.close();
    await metrics.close();
  };
  for (const warning of warnings) log.warn("config_warning", { detail: warning });
  log.info("guards_ready", {
    store: store.kind,
    database: db ? (deps.db ? "injected" : "postgres") : "none",
    rateLimit: config.rate
      ? `${config.rate.refillPerSecond}/s burst ${config.rate.capacity} per user`
      : "off",
    budgets: settings ? "on" : "off (no database)",
    failClosed: config.failClosed,
  });
  // Last: a build that failed before this leaves no listener behind.
  const stopShutdownFlush = flushOnShutdown({ close: closeAll });
  return {
    guards,
    report: (facts) => new DirectRequestReport({ usage: records.usage, metrics, log }, facts, now),
    flush,
    close: async () => {
      stopShutdownFlush();
      await closeAll();
    },
  };
}
