/**
 * Alert deliveries are llm_jobs rows of kind `alert.webhook`: one per
 * destination subscribed to an event, run by the job runner (woken by the
 * insert trigger, retried with backoff by the sweep, leased), and read back
 * as delivery status. A unique index on (webhook, event id) makes a second
 * report of the same event a no-op.
 */
import { type Db, jsonParam } from "../store/db.ts";
import type { AlertEvent, AlertEventType } from "./events.ts";

/** The llm_jobs kind of a delivery. */
export const ALERT_JOB_KIND = "alert.webhook";

/** Attempts per delivery: with the runner's backoff (~10 s doubling) about 20 minutes of retries. */
export const ALERT_MAX_ATTEMPTS = 8;

/** A delivery's job payload. */
export interface AlertDeliveryPayload {
  webhookId: string;
  event: AlertEvent;
}

/** A delivery as `GET /alerts/deliveries` shows it. */
export interface AlertDelivery {
  id: string;
  webhookId: string;
  accountId: string | null;
  eventId: string;
  type: AlertEventType;
  /** pending (waiting for its first or next attempt), running, succeeded or failed. */
  status: string;
  attempts: number;
  maxAttempts: number;
  /** When a pending delivery is tried next. */
  nextAttemptAt: string | null;
  /** The last failure's code and message (never the URL). */
  errorCode: string | null;
  error: string | null;
  /** The receiver's HTTP status and how long it took, once delivered. */
  result: { status: number; ms: number } | null;
  createdAt: string;
  finishedAt: string | null;
  event: AlertEvent;
}

/** Filters of a listing. */
export interface DeliveryFilter {
  webhookId?: string;
  status?: string;
  limit: number;
}

interface DeliveryRow extends Record<string, unknown> {
  id: string;
  account_id: string | null;
  status: string;
  attempts: number;
  max_attempts: number;
  run_after: Date | string;
  error: string | null;
  error_code: string | null;
  result: { status: number; ms: number } | null;
  created_at: Date | string;
  finished_at: Date | string | null;
  payload: AlertDeliveryPayload;
}

/** Queues and lists deliveries. */
export class AlertDeliveries {
  constructor(private readonly db: Db) {}

  /**
   * Queues one delivery of `event` per destination subscribed to its type
   * that may hear it: the deployment's always, an account's when the event
   * is that account's or the platform's (a platform circuit touches every
   * account). Returns the new deliveries' ids (none for an event already queued).
   */
  async enqueue(event: AlertEvent): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `insert into llm_jobs (account_id, kind, payload, max_attempts)
       select w.account_id, $1,
              jsonb_build_object('webhookId', w.id::text, 'event', $2::text::jsonb), $3::int
         from llm_alert_webhooks w
        where $4 = any(w.events)
          and (w.account_id is null or $5::text is null or w.account_id::text = $5::text)
       on conflict do nothing
       returning id`,
      [ALERT_JOB_KIND, jsonParam(event), ALERT_MAX_ATTEMPTS, event.type, event.accountId],
    );
    return rows.map((row) => row.id);
  }

  /** The scope's deliveries (account null: the deployment's destinations'), newest first. */
  async list(accountId: string | null, filter: DeliveryFilter): Promise<AlertDelivery[]> {
    const rows = await this.db.query<DeliveryRow>(
      `select id, account_id, status, attempts, max_attempts, run_after, error, error_code, result,
              created_at, finished_at, payload
         from llm_jobs
        where kind = $1 and account_id is not distinct from $2::uuid
          and ($3::text is null or payload ->> 'webhookId' = $3::text)
          and ($4::text is null or status = $4::text)
        order by created_at desc, id
        limit $5::int`,
      [ALERT_JOB_KIND, accountId, filter.webhookId ?? null, filter.status ?? null, filter.limit],
    );
    return rows.map((row) => ({
      id: row.id,
      webhookId: row.payload.webhookId,
      accountId: row.account_id,
      eventId: row.payload.event.id,
      type: row.payload.event.type,
      status: row.status,
      attempts: row.attempts,
      maxAttempts: row.max_attempts,
      nextAttemptAt: row.status === "pending" ? new Date(row.run_after).toISOString() : null,
      errorCode: row.error_code,
      error: row.error,
      result: row.result,
      createdAt: new Date(row.created_at).toISOString(),
      finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
      event: row.payload.event,
    }));
  }
}
