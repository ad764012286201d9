/**
 * The audit trail of administrative changes (keys, preferences). Never a key,
 * never prompt text: only who, what, on which target, and the outcome.
 */
import type { Db } from "../store/db.ts";
import { isUuid } from "./ids.ts";

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
  details?: Record<string, string | number | boolean | null>;
}

/** Writes audit events. */
export class AuditLog {
  constructor(private readonly db: Db) {}

  /** Inserts one event. */
  async record(event: AuditEvent): Promise<void> {
    await this.db.query(
      `insert into llm_audit_log (account_id, actor_user_id, actor_role, action, target, provider, model, outcome, request_id, details)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb)`,
      [
        isUuid(event.accountId) ? event.accountId : null,
        isUuid(event.actorUserId) ? event.actorUserId : null,
        event.actorRole ?? null,
        event.action,
        event.target ?? null,
        event.provider ?? null,
        event.model ?? null,
        event.outcome ?? null,
        event.requestId ?? null,
        JSON.stringify(event.details ?? {}),
      ],
    );
  }
}
