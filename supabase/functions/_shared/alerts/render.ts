/**
 * An event as a webhook body: Slack's incoming-webhook JSON (`text`, with
 * `blocks` for the layout) or the gateway's own JSON. The same sentence
 * heads both, so a person reads the same thing wherever it lands.
 */
import type { AlertData, AlertEvent } from "./events.ts";

/** The body formats a webhook can take. */
export const ALERT_FORMATS = ["slack", "json"] as const;

/** One body format. */
export type AlertFormat = typeof ALERT_FORMATS[number];

/** The body of `event` for a destination in `format`; `deliveryId` is the same on every retry. */
export function renderAlert(event: AlertEvent, format: AlertFormat, deliveryId: string): string {
  const text = alertText(event);
  if (format === "json") {
    return JSON.stringify({
      id: event.id,
      type: event.type,
      deliveryId,
      accountId: event.accountId,
      occurredAt: event.occurredAt,
      text,
      data: event.data,
    });
  }
  return JSON.stringify({
    text: slackEscape(text),
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: slackEscape(text) } },
      {
        type: "context",
        elements: [{
          type: "mrkdwn",
          text: slackEscape(`${event.type} · ${event.occurredAt} · ${event.id}`),
        }],
      },
    ],
  });
}

/** One sentence saying what happened. */
export function alertText(event: AlertEvent): string {
  const d = event.data;
  switch (event.type) {
    case "budget.threshold":
      return `Budget alert: ${whose(d)} has spent ${usd(d.spentUsd)} of its ${
        usd(d.limitUsd)
      } ${d.period} budget (${
        percent(Number(d.spentUsd) / Number(d.limitUsd))
      }) for ${d.window} (${d.timeZone}); the alert threshold is ${percent(Number(d.threshold))}.`;
    case "budget.exhausted":
      return `Budget exhausted: ${whose(d)} has spent ${usd(d.spentUsd)} of its ${
        usd(d.limitUsd)
      } ${d.period} budget for ${d.window} (${d.timeZone}); its requests are refused until ${d.resetsAt}.`;
    case "circuit.opened":
      return `Circuit opened: ${
        target(d)
      } failed repeatedly; routing skips it and probes it again after ${
        Math.round(Number(d.probeAfterMs) / 1000)
      } s.`;
    case "circuit.closed":
      return `Circuit closed: ${target(d)} is back${
        d.reason === "reset" ? " (reset by an operator)" : ""
      }.`;
  }
}

function whose(d: AlertData): string {
  const part = d.agentId ? ` (agent ${d.agentId})` : d.keyId ? ` (gateway key ${d.keyId})` : "";
  return `account ${d.accountId}${part}`;
}

function target(d: AlertData): string {
  const what = d.provider === null
    ? `${d.circuit}`
    : `${d.provider} ${d.model}${d.deployment !== null ? ` (deployment ${d.deployment})` : ""}`;
  return `${what} (${d.scope === "platform" ? "platform keys" : `account ${d.accountId}'s keys`})`;
}

function usd(value: AlertData[string]): string {
  const n = Number(value);
  return `$${n > 0 && n < 0.01 ? n.toFixed(6) : n.toFixed(2)}`;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

/** Slack's mrkdwn control characters: agent ids are caller text, and must not ping `<!channel>`. */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
