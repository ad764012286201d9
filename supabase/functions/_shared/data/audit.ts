/**
 * The audit trail of administrative changes (keys, preferences). Never a key,
 * never prompt text: only who, what, on which target, and the outcome.
 */
import { type Db, jsonParam } from "../store/db.ts";
import { isUuid } from "./ids.ts";
import { writableOptionalText, writableText, writableTimestamp } from "./writable-values.ts";

/** One audited action. */
export interface AuditEvent {
  accountId?: string;
  actorUserId?: string;
  actorRole?: string;
  action: string;
  target?: string;
  provider?: string;
  model?: string;
  outcome?: string;
  requestId?: string;
  /** The gateway key the actor used (its id, never its secret); absent: none. */
  keyId?: string;
  details?: Record<string, string | number | boolean | null>;
  /** When it happened (epoch ms); a queued event keeps its real time. Default: when it is written. */
  at?: number;
}

/** Writes audit events. */
export class AuditLog {
  constructor(private readonly db: Db) {}

  /** Inserts one event. */
  async record(event: AuditEvent): Promise<void> {
    await this.recordBatch([event]);
  }

  /**
   * Inserts `events` in one statement with one JSON parameter, so a batch costs
   * one round trip however large it is (and never hits the driver's limit on
   * parameters). An empty batch sends nothing.
   */
  async recordBatch(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) => ({
      // The columns are uuids: an id from elsewhere (a service name, a test label) would fail the whole batch.
      account_id: isUuid(event.accountId) ? event.accountId : null,
      actor_user_id: isUuid(event.actorUserId) ? event.actorUserId : null,
      actor_role: event.actorRole ?? null,
      action: event.action,
      target: event.target ?? null,
      provider: event.provider ?? null,
      model: event.model ?? null,
      outcome: event.outcome ?? null,
      request_id: event.requestId ?? null,
      key_id: isUuid(event.keyId) ? event.keyId : null,
      details: event.details ?? {},
      created_at: writableTimestamp(event.at),
    }));
    // `with ordinality … order by` gives ids in the order the events happened
    // (`rows from` because ordinality cannot sit beside a column definition list).
    await this.db.query(
      `insert into llm_audit_log (account_id, actor_user_id, actor_role, action, target, provider, model, outcome, request_id, key_id, details, created_at)
       select e.account_id, e.actor_user_id, e.actor_role, e.action, e.target, e.provider, e.model, e.outcome, e.request_id,
              e.key_id, coalesce(e.details, '{}'::jsonb), coalesce(e.created_at, now())
       from rows from (jsonb_to_recordset($1::text::jsonb) as (
         account_id uuid, actor_user_id uuid, actor_role text, action text, target text, provider text,
         model text, outcome text, request_id text, key_id uuid, details jsonb, created_at timestamptz
       )) with ordinality as e(
         account_id, actor_user_id, actor_role, action, target, provider, model, outcome, request_id,
         key_id, details, created_at, position
       )
       order by e.position`,
      [jsonParam(rows)],
    );
  }
}

/**
 * `event` made storable after the database refused it: every text field and
 * every detail (key and string value) well-formed, without NUL, bounded. For
 * the audit queue's `repair`, so one odd string does not cost the event.
 */
export function repairAuditEvent(event: AuditEvent): AuditEvent {
  return {
    ...event,
    accountId: writableOptionalText(event.accountId),
    actorUserId: writableOptionalText(event.actorUserId),
    actorRole: writableOptionalText(event.actorRole),
    action: writableText(event.action),
    target: writableOptionalText(event.target),
    provider: writableOptionalText(event.provider),
    model: writableOptionalText(event.model),
    outcome: writableOptionalText(event.outcome),
    requestId: writableOptionalText(event.requestId),
    details: event.details === undefined ? undefined : writableDetails(event.details),
  };
}

function writableDetails(details: NonNullable<AuditEvent["details"]>): AuditEvent["details"] {
  return Object.fromEntries(
    Object.entries(details).map(([key, value]) => [
      writableText(key),
      typeof value === "string" ? writableText(value) : value,
    ]),
  );
}
