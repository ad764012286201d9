/**
 * What a budget event leaves behind, wherever the spend came from (llm-router
 * or a direct function): a crossed threshold one `budget_alert` log line and
 * one `budget.alert` audit event, a reached limit one `budget_exhausted` line
 * and one `budget.exhausted` event. The ledger fires each once per rule and
 * window.
 */
import type { Logger } from "../runtime/log.ts";
import type { BudgetAlert } from "./budget-holds.ts";

/**
 * The audit event an alert leaves: a subset of data/audit.ts's `AuditEvent`,
 * declared here so the guards need nothing of the data layer (an audit queue
 * accepts it as it is).
 */
export interface BudgetAlertEvent {
  accountId: string;
  action: "budget.alert" | "budget.exhausted";
  target?: string;
  outcome: "threshold_crossed" | "exhausted";
  details: Record<string, string | number | boolean | null>;
}

/** The alert handler for a BudgetGuard/BudgetHolds: logs, and audits when there is an audit queue. */
export function budgetAlertReporter(
  log: Logger,
  audit?: { enqueue(event: BudgetAlertEvent): unknown },
): (alert: BudgetAlert) => void {
  return (alert) => {
    const fields = {
      accountId: alert.rule.accountId,
      agentId: alert.rule.agentId,
      keyId: alert.rule.keyId,
      period: alert.rule.period,
      window: alert.window.id,
      limitUsd: alert.rule.limitUsd,
      spentUsd: Number(alert.spentUsd.toFixed(6)),
      threshold: alert.rule.alertThreshold,
    };
    const exhausted = alert.kind === "exhausted";
    log.warn(exhausted ? "budget_exhausted" : "budget_alert", fields);
    audit?.enqueue({
      accountId: alert.rule.accountId,
      action: exhausted ? "budget.exhausted" : "budget.alert",
      target: alert.rule.agentId,
      outcome: exhausted ? "exhausted" : "threshold_crossed",
      details: { ...fields, agentId: alert.rule.agentId ?? null, keyId: alert.rule.keyId ?? null },
    });
  };
}
