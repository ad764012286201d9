/**
 * What the guards know about one account: its request rate limit, per-model
 * ceilings, budgets and price ceiling (and where an agent's price ceiling
 * comes from), as the guards use them. Where they are stored is not
 * the guards' business: `data/guard-settings.ts` reads them from the database
 * and hands them in through `GuardSettingsSource`, so data depends on guards
 * and never the other way round.
 */
import type { BudgetRule } from "./budget-holds.ts";
import type { BudgetWindow } from "./budget-windows.ts";

/** Per-model ceilings: requests and tokens (input + max output) per minute. */
export interface ModelCeiling {
  rpm?: number;
  tpm?: number;
}

/** An account's request rate limit. */
export interface RateLimitSettings {
  requestsPerSecond: number;
  burst: number;
  models: Record<string, ModelCeiling>;
  updatedAt?: string;
}

/** One budget row: an account's (or one agent's) daily and/or monthly limit. */
export interface BudgetSettings {
  agentId: string | null;
  dailyLimitUsd: number | null;
  monthlyLimitUsd: number | null;
  /**
   * The account's price ceiling in USD per million tokens (`llm/price-ceiling.ts`);
   * only on the account-wide row (an agent's is in its preferences). Null: none.
   */
  maxPricePerMTok: number | null;
  alertThreshold: number;
  timeZone: string;
  updatedAt?: string;
}

/** Everything the guards need to know about one account. */
export interface AccountGuardSettings {
  /** Undefined: the deployment's defaults apply. */
  rateLimit?: RateLimitSettings;
  budgets: BudgetSettings[];
}

/** Where the guards get an account's settings and the spend already recorded against a budget. */
export interface GuardSettingsSource {
  /** The account's settings (the source caches them). */
  forAccount(accountId: string): Promise<AccountGuardSettings>;
  /** USD recorded for the rule's account (and agent) within `window`: where a ledger starts. */
  recordedSpend(rule: BudgetRule, window: BudgetWindow): Promise<number>;
}

/** Where an agent's own price ceiling is kept (its routing preferences). */
export interface AgentCeilingSource {
  /** The agent's ceiling in USD per million tokens; undefined when it has none. */
  agentPriceCeiling(accountId: string, agentId: string): Promise<number | undefined>;
}

/** The account's own price ceiling: its account-wide budget row's. */
export function accountPriceCeiling(settings: AccountGuardSettings): number | undefined {
  for (const budget of settings.budgets) {
    if (budget.agentId === null) return budget.maxPricePerMTok ?? undefined;
  }
  return undefined;
}

/** The budget rules that apply to one request of `agentId` (account-wide ones always do). */
export function budgetRules(
  accountId: string,
  budgets: readonly BudgetSettings[],
  agentId: string | undefined,
): BudgetRule[] {
  const rules: BudgetRule[] = [];
  for (const budget of budgets) {
    if (budget.agentId !== null && budget.agentId !== agentId) continue;
    const base = {
      accountId,
      ...(budget.agentId !== null ? { agentId: budget.agentId } : {}),
      alertThreshold: budget.alertThreshold,
      timeZone: budget.timeZone,
    };
    if (budget.dailyLimitUsd !== null) {
      rules.push({ ...base, period: "daily", limitUsd: budget.dailyLimitUsd });
    }
    if (budget.monthlyLimitUsd !== null) {
      rules.push({ ...base, period: "monthly", limitUsd: budget.monthlyLimitUsd });
    }
  }
  return rules;
}
