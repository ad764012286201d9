/// <reference lib="dom" />
/** The budget panel (`GET llm-router/budgets`): each window's limit, spend, holds and reset time. */
import type { ConsoleContext } from "./context.ts";
import { h, replace } from "./dom.ts";
import { usd, when } from "./format.ts";
import { createPanel, type Panel } from "./panel.ts";

/** One budget window as the API reports it. */
interface BudgetWindow {
  agentId: string | null;
  period: string;
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  remainingUsd: number;
  resetsAt: string;
}

/** Builds the budget panel. */
export function budgetsPanel(context: ConsoleContext): Panel {
  const list = h("ul", { class: "budget-list", "aria-label": "Budget windows" });
  const panel = createPanel({
    id: "budgets",
    title: "Budgets",
    intro: "Spend against each budget window; holds are in-flight requests' reservations.",
    load: async () => {
      const { windows } = await context.client.request<{ windows: BudgetWindow[] }>(
        "GET",
        "llm-router/budgets",
      );
      if (!windows.length) {
        replace(
          list,
          h(
            "li",
            { class: "muted" },
            "No budget is set for this account (admins: PUT llm-router/budgets).",
          ),
        );
        return;
      }
      replace(
        list,
        ...windows.map((w) => {
          const used = w.spentUsd + w.reservedUsd;
          return h(
            "li",
            {},
            h("strong", {}, `${w.agentId ? `Agent ${w.agentId}` : "Account"} · ${w.period}`),
            h("meter", {
              min: 0,
              max: w.limitUsd,
              value: Math.min(used, w.limitUsd),
              high: w.limitUsd * 0.8,
              "aria-label": `${w.period} budget used`,
            }),
            h(
              "span",
              { class: "muted small" },
              `${usd(w.spentUsd)} spent + ${usd(w.reservedUsd)} held of ${usd(w.limitUsd)} · ${
                usd(w.remainingUsd)
              } left · resets ${when(w.resetsAt)}`,
            ),
          );
        }),
      );
    },
  });
  panel.body.append(list);
  return panel;
}
