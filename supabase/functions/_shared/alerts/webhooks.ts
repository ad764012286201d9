/**
 * Alert destinations in llm_alert_webhooks: an account's (its admins') or
 * the deployment's (account null, server keys). A URL and a signing secret
 * are written once and read back only to deliver: listings carry the URL's
 * hint and whether deliveries are signed, nothing more.
 */
import { type Db, jsonParam } from "../store/db.ts";
import type { AlertEventType } from "./events.ts";
import type { AlertFormat } from "./render.ts";

/** Most destinations one account (or the deployment) may have: each event is one delivery per destination. */
export const MAX_WEBHOOKS_PER_SCOPE = 10;

/** A destination as the API shows it. */
export interface AlertWebhook {
  id: string;
  /** Null: the deployment's own. */
  accountId: string | null;
  /** Scheme, host and port; never the path. */
  urlHint: string;
  format: AlertFormat;
  events: AlertEventType[];
  /** Whether deliveries carry `x-llm-signature`. */
  signed: boolean;
  createdAt: string;
}

/** What a delivery needs of its destination. */
export interface WebhookTarget {
  id: string;
  url: string;
  urlHint: string;
  format: AlertFormat;
  secret: string | null;
}

/** A destination to create. */
export interface NewAlertWebhook {
  accountId: string | null;
  url: string;
  urlHint: string;
  format: AlertFormat;
  events: readonly AlertEventType[];
  secret: string | null;
  createdBy?: string;
}

interface WebhookRow extends Record<string, unknown> {
  id: string;
  account_id: string | null;
  url_hint: string;
  format: AlertFormat;
  events: AlertEventType[];
  signed: boolean;
  created_at: Date | string;
}

// Arrays travel as JSON: one encoding for both drivers (postgres and PGlite).
const SHOWN =
  "id, account_id, url_hint, format, to_jsonb(events) as events, secret is not null as signed, created_at";

/** Reads and writes alert destinations. */
export class AlertWebhooks {
  constructor(private readonly db: Db) {}

  /** Stores a destination; undefined when its scope already has `MAX_WEBHOOKS_PER_SCOPE`. */
  async create(webhook: NewAlertWebhook): Promise<AlertWebhook | undefined> {
    const rows = await this.db.query<WebhookRow>(
      `insert into llm_alert_webhooks (account_id, url, url_hint, format, events, secret, created_by)
       select $1::uuid, $2, $3, $4, array(select jsonb_array_elements_text($5::text::jsonb)), $6, $7::uuid
        where (select count(*) from llm_alert_webhooks where account_id is not distinct from $1::uuid) < $8::int
       returning ${SHOWN}`,
      [
        webhook.accountId,
        webhook.url,
        webhook.urlHint,
        webhook.format,
        jsonParam(webhook.events),
        webhook.secret,
        webhook.createdBy ?? null,
        MAX_WEBHOOKS_PER_SCOPE,
      ],
    );
    return rows[0] && shown(rows[0]);
  }

  /** The scope's destinations, oldest first. */
  async list(accountId: string | null): Promise<AlertWebhook[]> {
    const rows = await this.db.query<WebhookRow>(
      `select ${SHOWN} from llm_alert_webhooks
        where account_id is not distinct from $1::uuid order by created_at, id`,
      [accountId],
    );
    return rows.map(shown);
  }

  /**
   * Removes a destination of the scope; its deliveries still waiting fail
   * (nothing is sent to a destination after it is gone). False when the
   * scope has no such destination.
   */
  async delete(id: string, accountId: string | null): Promise<boolean> {
    return await this.db.transaction(async (tx) => {
      const gone = await tx.query(
        `delete from llm_alert_webhooks where id = $1::uuid and account_id is not distinct from $2::uuid
         returning id`,
        [id, accountId],
      );
      if (gone.length === 0) return false;
      await tx.query(
        `update llm_jobs set status = 'failed', error = 'the webhook was deleted',
                error_code = 'WEBHOOK_DELETED', finished_at = now()
          where kind = 'alert.webhook' and status = 'pending' and payload ->> 'webhookId' = $1`,
        [id],
      );
      return true;
    });
  }

  /** The destination a delivery goes to, secret and all; undefined once deleted. */
  async target(id: string): Promise<WebhookTarget | undefined> {
    const rows = await this.db.query<{
      id: string;
      url: string;
      url_hint: string;
      format: AlertFormat;
      secret: string | null;
    }>(
      "select id, url, url_hint, format, secret from llm_alert_webhooks where id = $1::uuid",
      [id],
    );
    const row = rows[0];
    return row &&
      { id: row.id, url: row.url, urlHint: row.url_hint, format: row.format, secret: row.secret };
  }
}

function shown(row: WebhookRow): AlertWebhook {
  return {
    id: row.id,
    accountId: row.account_id,
    urlHint: row.url_hint,
    format: row.format,
    events: row.events,
    signed: row.signed,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
