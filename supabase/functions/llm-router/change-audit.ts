/** Audit rows for administrative changes made through the API, written off the hot path. */
import type { AuditEvent, AuditLog } from "../_shared/data/audit.ts";
import type { AccountAccess } from "../_shared/http/callers.ts";
import type { WaitUntil } from "../_shared/runtime/background.ts";
import type { RequestContext } from "./context.ts";

/** Records who changed what; nothing without a database. */
export class ChangeAudit {
  constructor(
    private readonly audit: AuditLog | undefined,
    private readonly waitUntil: WaitUntil,
  ) {}

  /** Records `change` (an `action` on a `target`) made by `request`'s caller in the account of `access`. */
  record(
    request: RequestContext,
    access: AccountAccess,
    change: Pick<AuditEvent, "action" | "target" | "provider" | "model" | "details">,
  ): void {
    if (!this.audit) return;
    this.waitUntil(this.audit.record({
      ...change,
      accountId: access.accountId,
      actorUserId: request.caller.userId,
      actorRole: access.role,
      requestId: request.requestId,
    }));
  }
}
