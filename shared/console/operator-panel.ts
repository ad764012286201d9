/// <reference lib="dom" />
/**
 * Rate limit and circuits: the caller's rate-limit bucket (`GET
 * llm-router/rate-limits/status`, anyone) and the circuits llm-metrics lists
 * (admins). The reset buttons exist only when the operator gave a service
 * key (server keys are the only callers the API lets reset either).
 */
import type { ConsoleContext } from "./context.ts";
import { h, replace } from "./dom.ts";
import { describeError, isForbidden } from "./errors.ts";
import { count, ms } from "./format.ts";
import type { MetricsReport } from "./metrics-panel.ts";
import { createPanel, type Panel } from "./panel.ts";

/** `GET llm-router/rate-limits/status`. */
interface RateLimitStatus {
  accountId: string;
  scope: string;
  limited: boolean;
  tokensAvailable: number;
  refillPerSecond: number;
  burst: number;
  resetMs: number;
}

function facts(rows: [string, string][]): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    ...rows.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))),
  );
}

/** Builds the rate limit and circuits panel. */
export function operatorPanel(context: ConsoleContext): Panel {
  const rate = h("div", { class: "rate-limit" });
  const circuits = h("div", { class: "circuits" });
  const operator = context.operator;

  /** Runs a reset with the service key, then reloads the panel. */
  const reset = (button: HTMLButtonElement, what: string, call: () => Promise<unknown>) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await call();
        await panel.refresh();
        panel.setStatus(`${what} reset.`);
      } catch (error) {
        panel.setStatus(`${what} not reset: ${describeError(error)}`, "error");
      } finally {
        button.disabled = false;
      }
    });
    return button;
  };

  const loadRate = async () => {
    const status = await context.client.request<RateLimitStatus>(
      "GET",
      "llm-router/rate-limits/status",
    );
    const button = operator
      ? reset(
        h("button", { type: "button", class: "secondary" }, "Reset rate limit"),
        "Rate limit",
        () =>
          operator.request(
            "POST",
            `llm-router/rate-limits/reset?accountId=${encodeURIComponent(status.accountId)}`,
          ),
      )
      : null;
    replace(
      rate,
      h("h3", {}, "Rate limit"),
      facts([
        ["State", status.limited ? "limited" : "not limited"],
        ["Requests available", count(Math.floor(status.tokensAvailable))],
        ["Burst", count(status.burst)],
        ["Refill", `${status.refillPerSecond}/s`],
        ["Full again in", ms(status.resetMs)],
        ["Scope", status.scope],
      ]),
      button,
    );
  };

  const loadCircuits = async () => {
    let report: MetricsReport;
    try {
      report = await context.client.request<MetricsReport>("GET", "llm-metrics");
    } catch (error) {
      if (!isForbidden(error)) throw error;
      replace(circuits, h("h3", {}, "Circuits"), h("p", { class: "notice" }, "Admins only."));
      return;
    }
    const rows = report.circuits.map((c) =>
      h(
        "li",
        {},
        h("span", { class: c.state === "CLOSED" ? "badge ok" : "badge bad" }, c.state),
        ` ${c.provider}/${c.model} `,
        operator && c.state !== "CLOSED"
          ? reset(
            h("button", {
              type: "button",
              class: "secondary",
              "aria-label": `Reset circuit ${c.provider}/${c.model}`,
            }, "Reset"),
            `Circuit ${c.provider}/${c.model}`,
            () =>
              operator.request("POST", "llm-router/circuits/reset", {
                provider: c.provider,
                model: c.model,
              }),
          )
          : null,
      )
    );
    replace(
      circuits,
      h("h3", {}, "Circuits"),
      rows.length
        ? h("ul", { class: "circuit-list" }, ...rows)
        : h("p", { class: "muted" }, "No circuit has traffic or is open."),
    );
  };

  const panel = createPanel({
    id: "limits",
    title: "Rate limit and circuits",
    intro: operator
      ? "Operator mode: the service key you entered unlocks the reset buttons."
      : "Enter a service key in Project settings to reset limits and circuits (operators).",
    load: async () => {
      await Promise.all([loadRate(), loadCircuits()]);
    },
  });
  panel.body.append(rate, circuits);
  return panel;
}
