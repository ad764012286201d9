/** Audit rows for administrative changes made through the API, written off the hot path. */
import type { AuditEvent } from "../_shared/data/audit.ts";
import type { AccountAccess } from "../_shared/http/callers.ts";
import type { RouterRequestContext } from "./context.ts";

/** Records who changed what (`action` on `target`) in the account of `access`. */
export function auditChange(
  context: RouterRequestContext,
  access: AccountAccess,
  change: Pick<AuditEvent, "action" | "target" | "provider" | "model" | "details">,
): void {
  const audit = context.world.audit;
  if (!audit) return;
  context.world.waitUntil(audit.record({
    ...change,
    accountId: access.accountId,
    actorUserId: context.caller.userId,
    actorRole: access.role,
    requestId: context.requestId,
  }));
}
