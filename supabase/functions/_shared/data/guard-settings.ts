/**
 * Each account's guard settings from the database, cached in the state
 * store: its request rate limit and per-model ceilings (llm_rate_limits) and
 * its budgets and price ceiling (llm_budgets). Writes invalidate the cached entry, so every
 * isolate sharing the store sees a change on its next request. Also sums the
 * spend llm_usage recorded in a window, which is where budget ledgers start.
 */
import type {
  AccountGuardSettings,
  BudgetSettings,
  GuardSettingsSource,
  ModelCeiling,
  RateLimitSettings,
} from "../guards/account-settings.ts";
import type { BudgetRule } from "../guards/budget-holds.ts";
import type { BudgetWindow } from "../guards/budget-windows.ts";
import type { Db } from "../store/db.ts";
import { jsonParam } from "../store/db.ts";
import { cached, type StateStore } from "../store/state-store.ts";
import { isUuid } from "./ids.ts";

// The rules are the guards' idea; routes that show budgets import them from here too.
export { budgetRules } from "../guards/account-settings.ts";

interface RateRow extends Record<string, unknown> {
  requests_per_second: string | number;
  burst: number;
  model_limits: Record<string, ModelCeiling> | string;
  updated_at: Date | string;
}

interface BudgetRow extends Record<string, unknown> {
  agent_id: string | null;
  daily_limit_usd: string | number | null;
  monthly_limit_usd: string | number | null;
  max_price_per_mtok: string | number | null;
  alert_threshold: string | number;
  time_zone: string;
  updated_at: Date | string;
}

const BUDGET_COLUMNS =
  "agent_id, daily_limit_usd, monthly_limit_usd, max_price_per_mtok, alert_threshold, time_zone, updated_at";

const numberOrNull = (value: string | number | null) => value === null ? null : Number(value);

function rateFromRow(row: RateRow): RateLimitSettings {
  return {
    requestsPerSecond: Number(row.requests_per_second),
    burst: row.burst,
    models: typeof row.model_limits === "string" ? JSON.parse(row.model_limits) : row.model_limits,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function budgetFromRow(row: BudgetRow): BudgetSettings {
  return {
    agentId: row.agent_id,
    dailyLimitUsd: numberOrNull(row.daily_limit_usd),
    monthlyLimitUsd: numberOrNull(row.monthly_limit_usd),
    maxPricePerMTok: numberOrNull(row.max_price_per_mtok),
    alertThreshold: Number(row.alert_threshold),
    timeZone: row.time_zone,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** Reads and writes guard settings; the guards read them through `GuardSettingsSource`. */
export class GuardSettingsRepository implements GuardSettingsSource {
  constructor(
    private readonly db: Db,
    private readonly store: StateStore,
    private readonly ttlMs: number,
  ) {}

  /** The account's settings (cached). */
  forAccount(accountId: string): Promise<AccountGuardSettings> {
    if (!isUuid(accountId)) return Promise.resolve({ budgets: [] });
    return cached(this.store, cacheKey(accountId), this.ttlMs, async () => {
      const [rates, budgets] = await Promise.all([
        this.db.query<RateRow>(
          "select requests_per_second, burst, model_limits, updated_at from llm_rate_limits where account_id = $1",
          [accountId],
        ),
        this.db.query<BudgetRow>(
          `select ${BUDGET_COLUMNS} from llm_budgets where account_id = $1 order by agent_id nulls first`,
          [accountId],
        ),
      ]);
      return {
        ...(rates[0] ? { rateLimit: rateFromRow(rates[0]) } : {}),
        budgets: budgets.map(budgetFromRow),
      };
    });
  }

  /** Stores the account's rate limit. */
  async putRateLimit(accountId: string, settings: RateLimitSettings): Promise<RateLimitSettings> {
    const rows = await this.db.query<RateRow>(
      `insert into llm_rate_limits (account_id, requests_per_second, burst, model_limits)
       values ($1, $2, $3, $4::text::jsonb)
       on conflict (account_id) do update set requests_per_second = excluded.requests_per_second,
         burst = excluded.burst, model_limits = excluded.model_limits
       returning requests_per_second, burst, model_limits, updated_at`,
      [accountId, settings.requestsPerSecond, settings.burst, jsonParam(settings.models)],
    );
    await this.store.delete(cacheKey(accountId));
    return rateFromRow(rows[0]);
  }

  /** Removes the account's rate limit (the defaults apply again); true when there was one. */
  async deleteRateLimit(accountId: string): Promise<boolean> {
    const rows = await this.db.query(
      "delete from llm_rate_limits where account_id = $1 returning account_id",
      [accountId],
    );
    await this.store.delete(cacheKey(accountId));
    return rows.length > 0;
  }

  /**
   * Stores one budget row (the account's, or `budget.agentId`'s). A
   * `maxPricePerMTok` left undefined keeps the stored ceiling (null removes
   * it): a cap on spend is never lifted by a write that did not mention it.
   */
  async putBudget(
    accountId: string,
    budget: Omit<BudgetSettings, "maxPricePerMTok"> & { maxPricePerMTok?: number | null },
  ): Promise<BudgetSettings> {
    const conflict = budget.agentId === null
      ? "(account_id) where agent_id is null"
      : "(account_id, agent_id) where agent_id is not null";
    const rows = await this.db.query<BudgetRow>(
      `insert into llm_budgets (account_id, agent_id, daily_limit_usd, monthly_limit_usd, alert_threshold, time_zone, max_price_per_mtok)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict ${conflict} do update set daily_limit_usd = excluded.daily_limit_usd,
         monthly_limit_usd = excluded.monthly_limit_usd, alert_threshold = excluded.alert_threshold,
         time_zone = excluded.time_zone,
         max_price_per_mtok = case when $8::boolean then llm_budgets.max_price_per_mtok
           else excluded.max_price_per_mtok end
       returning ${BUDGET_COLUMNS}`,
      [
        accountId,
        budget.agentId,
        budget.dailyLimitUsd,
        budget.monthlyLimitUsd,
        budget.alertThreshold,
        budget.timeZone,
        budget.maxPricePerMTok ?? null,
        budget.maxPricePerMTok === undefined,
      ],
    );
    await this.store.delete(cacheKey(accountId));
    return budgetFromRow(rows[0]);
  }

  /** Removes one budget row; true when there was one. */
  async deleteBudget(accountId: string, agentId: string | null): Promise<boolean> {
    const rows = await this.db.query(
      agentId === null
        ? "delete from llm_budgets where account_id = $1 and agent_id is null returning id"
        : "delete from llm_budgets where account_id = $1 and agent_id = $2 returning id",
      agentId === null ? [accountId] : [accountId, agentId],
    );
    await this.store.delete(cacheKey(accountId));
    return rows.length > 0;
  }

  /** USD llm_usage recorded for the rule's account (and agent, or gateway key) within `window`. */
  async recordedSpend(rule: BudgetRule, window: BudgetWindow): Promise<number> {
    if (rule.keyId !== undefined) return await this.#keySpend(rule.keyId, window);
    const params: unknown[] = [
      rule.accountId,
      new Date(window.start).toISOString(),
      new Date(window.end).toISOString(),
    ];
    if (rule.agentId !== undefined) params.push(rule.agentId);
    const rows = await this.db.query<{ spent: string | number | null }>(
      `select coalesce(sum(cost_usd), 0) as spent from llm_usage
        where account_id = $1 and created_at >= $2::timestamptz and created_at < $3::timestamptz${
        rule.agentId !== undefined ? " and agent_id = $4" : ""
      }`,
      params,
    );
    return Number(rows[0]?.spent ?? 0);
  }

  /** USD llm_usage recorded for one gateway key within `window` (its own index). */
  async #keySpend(keyId: string, window: BudgetWindow): Promise<number> {
    const rows = await this.db.query<{ spent: string | number | null }>(
      `select coalesce(sum(cost_usd), 0) as spent from llm_usage
        where key_id = $1 and created_at >= $2::timestamptz and created_at < $3::timestamptz`,
      [keyId, new Date(window.start).toISOString(), new Date(window.end).toISOString()],
    );
    return Number(rows[0]?.spent ?? 0);
  }
}

function cacheKey(accountId: string): string {
  return `guards:${accountId}`;
}
