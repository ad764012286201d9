/**
 * `GET /budgets/:accountId`: each of the account's budget windows as an
 * operator reads it: used, limit, percentage, whether its alert fired.
 */
import { budgetRules } from "../_shared/data/guard-settings.ts";
import type { MetricsWorld } from "./world.ts";

/** The account's budget windows now. */
export async function budgetStatus(world: MetricsWorld, accountId: string) {
  const settings = world.guardSettings!;
  const guard = world.budgets!;
  const { budgets } = await settings.forAccount(accountId);
  const windows = await Promise.all(
    budgets.flatMap((budget) =>
      budgetRules(accountId, [budget], budget.agentId ?? undefined).map(async (rule) => {
        const { window, spentUsd, reservedUsd } = await guard.totals(rule);
        const alerted = await world.store.get<boolean>(`${guard.windowOf(rule).key}:alerted`);
        return {
          agentId: rule.agentId ?? null,
          period: rule.period,
          window: window.id,
          timeZone: rule.timeZone,
          limitUsd: rule.limitUsd,
          usedUsd: Number(spentUsd.toFixed(6)),
          reservedUsd: Number(reservedUsd.toFixed(6)),
          percentage: rule.limitUsd > 0
            ? Number(((spentUsd / rule.limitUsd) * 100).toFixed(2))
            : null,
          alertThreshold: rule.alertThreshold,
          alerted: alerted === true,
          resetsAt: new Date(window.end).toISOString(),
        };
      })
    ),
  );
  return { success: true, accountId, budgets: windows };
}
