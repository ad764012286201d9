/**
 * The events an alert webhook can subscribe to, made from what the guards
 * report: a budget's threshold crossed or its limit reached (once per rule
 * and window, by the ledger), and a provider's circuit opened or closed
 * (once per transition, by the breaker step that made it).
 */
import type { BudgetAlert } from "../guards/budget-holds.ts";
import type { CircuitTransition } from "../guards/store-breakers.ts";
import { toHex } from "../security/hex.ts";

/** Every event type, in the order the API lists them. */
export const ALERT_EVENT_TYPES = [
  "budget.threshold",
  "budget.exhausted",
  "circuit.opened",
  "circuit.closed",
] as const;

/** One event type. */
export type AlertEventType = typeof ALERT_EVENT_TYPES[number];

/** An event's facts: flat, JSON, never a secret. */
export type AlertData = Record<string, string | number | boolean | null>;

/** One event, as every destination receives it. */
export interface AlertEvent {
  /**
   * `evt_…`; the same for every report of the same happening (a budget
   * window's threshold), so a second report never becomes a second delivery.
   */
  id: string;
  type: AlertEventType;
  /** The account it concerns; null: the platform's (a circuit of the platform's keys). */
  accountId: string | null;
  /** ISO time it happened. */
  occurredAt: string;
  data: AlertData;
}

/** The event of a budget alert; its id is fixed by the rule and the window. */
export async function budgetAlertEvent(alert: BudgetAlert, now: number): Promise<AlertEvent> {
  const { rule, window } = alert;
  const type = alert.kind === "exhausted" ? "budget.exhausted" : "budget.threshold";
  const identity = [
    type,
    rule.accountId,
    rule.agentId ?? "",
    rule.keyId ?? "",
    rule.period,
    rule.timeZone,
    window.id,
  ];
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(identity.join("\n")),
  );
  return {
    id: `evt_${toHex(digest).slice(0, 32)}`,
    type,
    accountId: rule.accountId,
    occurredAt: new Date(now).toISOString(),
    data: {
      accountId: rule.accountId,
      agentId: rule.agentId ?? null,
      // A gateway key's own budget (never together with an agent's).
      keyId: rule.keyId ?? null,
      period: rule.period,
      window: window.id,
      timeZone: rule.timeZone,
      limitUsd: rule.limitUsd,
      spentUsd: Number(alert.spentUsd.toFixed(6)),
      threshold: rule.alertThreshold,
      resetsAt: new Date(window.end).toISOString(),
    },
  };
}

/**
 * The event of a circuit transition, or undefined for one nobody is told of.
 * A person hears "opened" when a closed circuit opens and "closed" when it
 * closes again (probes succeeded, or an operator reset it); a failed probe
 * that re-opens a half-open circuit is the same outage, not a new one.
 */
export function circuitAlertEvent(
  transition: CircuitTransition,
  openMs: number,
): AlertEvent | undefined {
  const { key, from, to, at, reset } = transition;
  const opened = from === "CLOSED" && to === "OPEN";
  const closed = from !== "CLOSED" && to === "CLOSED";
  if (!opened && !closed) return undefined;
  const circuit = circuitOf(key);
  return {
    id: `evt_${toHex(crypto.getRandomValues(new Uint8Array(16)))}`,
    type: opened ? "circuit.opened" : "circuit.closed",
    accountId: circuit.accountId,
    occurredAt: new Date(at).toISOString(),
    data: {
      circuit: key,
      scope: circuit.accountId === null ? "platform" : "account",
      accountId: circuit.accountId,
      provider: circuit.provider,
      model: circuit.model,
      deployment: circuit.deployment,
      ...(opened
        ? { probeAfterMs: openMs }
        : { reason: reset ? "reset" : "recovered", previousState: from }),
    },
  };
}

/**
 * The parts of a circuit key (`platform:<provider>:<model>[@<deployment>]`
 * or `account:<id>:<provider>:<model>[@<deployment>]`, circuit-key.ts).
 * Model ids may hold colons (`…:free`), so the model is everything after the
 * provider up to a deployment; a key of another shape still alerts, under
 * its whole key.
 */
function circuitOf(key: string): {
  accountId: string | null;
  provider: string | null;
  model: string | null;
  deployment: string | null;
} {
  const match = /^(?:platform|account:([^:]+)):([^:]+):(.+?)(?:@([^@:]+))?$/.exec(key);
  if (!match) return { accountId: null, provider: null, model: null, deployment: null };
  return {
    accountId: match[1] ?? null,
    provider: match[2],
    model: match[3],
    deployment: match[4] ?? null,
  };
}
