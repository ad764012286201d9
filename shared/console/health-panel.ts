/// <reference lib="dom" />
/** The health panel: llm-health's providers report (cached checks), one line per provider. */
import type { ConsoleContext } from "./context.ts";
import { h, replace } from "./dom.ts";
import { ms, when } from "./format.ts";
import { createPanel, type Panel } from "./panel.ts";

/** Builds the health panel. */
export function healthPanel(context: ConsoleContext): Panel {
  const summary = h("p", { class: "summary" });
  const list = h("ul", { class: "health-list", "aria-label": "Providers" });
  const panel = createPanel({
    id: "health",
    title: "Health",
    intro: "Whether each configured provider answers, from llm-health's cached checks.",
    load: async () => {
      const { healthy, report } = await context.client.healthCheck();
      if (!report) {
        replace(summary, "llm-health did not answer with a report.");
        list.replaceChildren();
        return;
      }
      const { stats } = report;
      replace(
        summary,
        h(
          "span",
          { class: healthy ? "badge ok" : "badge bad" },
          healthy ? "Healthy" : "Degraded",
        ),
        ` ${stats.healthy} of ${stats.total} providers healthy (${stats.healthPercentage}%) · checked ${
          when(report.timestamp)
        }`,
      );
      replace(
        list,
        ...report.providers.map((p) =>
          h(
            "li",
            { "data-provider": p.provider },
            h("span", { class: p.healthy ? "badge ok" : "badge bad" }, p.healthy ? "up" : "down"),
            " ",
            h("strong", {}, p.provider),
            h(
              "span",
              { class: "muted" },
              ` · ${ms(p.latency)} · ${when(p.lastCheck)}`,
            ),
            p.error ? h("span", { class: "error small" }, ` · ${p.error}`) : null,
          )
        ),
      );
    },
  });
  panel.body.append(summary, list);
  return panel;
}
