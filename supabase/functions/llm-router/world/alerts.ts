/**
 * llm-router's alerts: the destinations and deliveries over the database,
 * the outbox the guards' events go to, and the job handler that delivers.
 * Without a database there are no destinations, so events are only logged
 * and audited (as before) and the alert routes answer 503.
 */
import type { Db } from "../../_shared/store/db.ts";
import type { Logger } from "../../_shared/runtime/log.ts";
import type { WaitUntil } from "../../_shared/runtime/background.ts";
import type { BudgetAlert } from "../../_shared/guards/budget-holds.ts";
import type { CircuitTransition } from "../../_shared/guards/store-breakers.ts";
import { budgetAlertEvent, circuitAlertEvent } from "../../_shared/alerts/events.ts";
import { ALERT_JOB_KIND, AlertDeliveries } from "../../_shared/alerts/deliveries.ts";
import { WebhookDeliverer } from "../../_shared/alerts/deliverer.ts";
import { AlertOutbox } from "../../_shared/alerts/outbox.ts";
import type { HttpWebhooks } from "../../_shared/alerts/webhook-url.ts";
import { AlertWebhooks } from "../../_shared/alerts/webhooks.ts";
import type { JobHandler, JobRunner } from "../job-runner.ts";

/** What the alerts are built from. */
export interface RouterAlertsDeps {
  log: Logger;
  waitUntil: WaitUntil;
  now: () => number;
  httpWebhooks: HttpWebhooks;
  /** The isolate's job runner (built after the alerts): deliveries start on it at once. */
  runner: () => JobRunner | undefined;
  fetch?: typeof fetch;
}

/** The alerts of one isolate. */
export interface RouterAlerts {
  /** Absent without a database. */
  webhooks?: AlertWebhooks;
  deliveries?: AlertDeliveries;
  /** The job runner's handler for deliveries. */
  jobHandlers: ReadonlyMap<string, JobHandler>;
  /** A budget's threshold crossed or limit reached: queued for its destinations. */
  budgetAlert(alert: BudgetAlert): void;
  /** A circuit changed state; `openMs` is how long an open circuit waits for probes. */
  circuitTransition(transition: CircuitTransition, openMs: number): void;
}

/** Builds the alerts over `db`. */
export function routerAlerts(db: Db | undefined, deps: RouterAlertsDeps): RouterAlerts {
  if (!db) {
    return { jobHandlers: new Map(), budgetAlert: () => {}, circuitTransition: () => {} };
  }
  const { log, waitUntil, now } = deps;
  const webhooks = new AlertWebhooks(db);
  const deliveries = new AlertDeliveries(db);
  const deliverer = new WebhookDeliverer({
    target: (id) => webhooks.target(id),
    fetch: deps.fetch,
    now,
    log,
    httpWebhooks: deps.httpWebhooks,
  });
  const outbox = new AlertOutbox({
    enqueue: (event) => deliveries.enqueue(event),
    deliverNow: async (count) =>
      await deps.runner()?.runDue({
        worker: `alerts:${crypto.randomUUID()}`,
        limit: count,
        kind: ALERT_JOB_KIND,
      }),
    waitUntil,
    log,
  });
  return {
    webhooks,
    deliveries,
    jobHandlers: new Map([[ALERT_JOB_KIND, (job, signal) => deliverer.deliver(job, signal)]]),
    budgetAlert: (alert) => outbox.publish(budgetAlertEvent(alert, now())),
    circuitTransition: (transition, openMs) =>
      outbox.publish(circuitAlertEvent(transition, openMs)),
  };
}
