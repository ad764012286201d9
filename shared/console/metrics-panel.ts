/// <reference lib="dom" />
/**
 * The metrics panel (`GET llm-metrics`, the account's admins): per provider
 * requests, success rate, p95 latency and cost, with p95 latency and spend
 * drawn as bar charts. A member is told the panel is for admins.
 */
import { barChart } from "./chart.ts";
import type { ConsoleContext } from "./context.ts";
import { h, replace } from "./dom.ts";
import { count, ms, percent, usd } from "./format.ts";
import { createPanel, type Panel } from "./panel.ts";

/** The part of a metrics summary the panel shows. */
interface Summary {
  requests: number;
  successRate: number;
  p95Latency: number;
  totalCost: number;
}

/** `GET llm-metrics` as the panel reads it. */
export interface MetricsReport {
  metrics: (Summary & { provider: string })[];
  aggregated: Summary;
  circuits: { provider: string; model: string; state: string }[];
  timestamp: string;
}

/** A table whose cells carry their column name, so narrow screens can show rows as cards. */
function table(caption: string, columns: string[], rows: (string | Node)[][]): HTMLTableElement {
  return h(
    "table",
    { class: "cards" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      ...rows.map((row) =>
        h("tr", {}, ...row.map((cell, i) => h("td", { "data-label": columns[i] }, cell)))
      ),
    ),
  );
}

/** Builds the metrics panel. */
export function metricsPanel(context: ConsoleContext): Panel {
  const content = h("div", {});
  const panel = createPanel({
    id: "metrics",
    title: "Metrics",
    intro: "What the gateway served for this account, per provider (admins).",
    load: async () => {
      const report = await context.client.request<MetricsReport>("GET", "llm-metrics");
      const { aggregated: all, metrics } = report;
      if (!metrics.length) {
        replace(content, h("p", { class: "muted" }, "No requests counted yet: send a chat."));
        return;
      }
      replace(
        content,
        h(
          "p",
          { class: "summary" },
          `${count(all.requests)} requests · ${percent(all.successRate)} succeeded · p95 ${
            ms(all.p95Latency)
          } · ${usd(all.totalCost)}`,
        ),
        table(
          "Per provider",
          ["Provider", "Requests", "Success", "p95 latency", "Cost"],
          metrics.map((m) => [
            m.provider,
            count(m.requests),
            percent(m.successRate),
            ms(m.p95Latency),
            usd(m.totalCost),
          ]),
        ),
        h(
          "div",
          { class: "charts" },
          h(
            "figure",
            {},
            barChart(
              "p95 latency by provider",
              metrics.map((m) => ({
                label: m.provider,
                value: m.p95Latency,
                text: ms(m.p95Latency),
              })),
            ),
            h("figcaption", {}, "p95 latency"),
          ),
          h(
            "figure",
            {},
            barChart(
              "Spend by provider",
              metrics.map((m) => ({
                label: m.provider,
                value: m.totalCost,
                text: usd(m.totalCost),
              })),
            ),
            h("figcaption", {}, "Spend"),
          ),
        ),
      );
    },
  });
  panel.body.append(content);
  return panel;
}
