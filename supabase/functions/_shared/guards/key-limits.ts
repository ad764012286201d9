/**
 * A gateway key's own limits as the guards apply them, on top of its
 * account's: its token bucket, its budget rules (ledgers and recorded spend
 * of its own, `BudgetRule.keyId`), and the models it may reach, checked on
 * every target the router would try, fallbacks included.
 */
import { LLMError } from "../llm/errors.ts";
import type { GatewayKeyGrant } from "../http/callers.ts";
import type { BudgetRule } from "./budget-holds.ts";
import type { TokenBucket } from "./token-bucket.ts";

/** The key's own bucket; undefined when it has none (its account's still applies). */
export function keyBucket(key: GatewayKeyGrant): TokenBucket | undefined {
  return key.rateLimit
    ? { capacity: key.rateLimit.burst, refillPerSecond: key.rateLimit.requestsPerSecond }
    : undefined;
}

/** The key's own budget rules (none without a budget). */
export function keyBudgetRules(key: GatewayKeyGrant): BudgetRule[] {
  const budget = key.budget;
  if (!budget) return [];
  const base = {
    accountId: key.accountId,
    keyId: key.id,
    alertThreshold: budget.alertThreshold,
    timeZone: budget.timeZone,
  };
  const rules: BudgetRule[] = [];
  if (budget.dailyLimitUsd !== null) {
    rules.push({ ...base, period: "daily", limitUsd: budget.dailyLimitUsd });
  }
  if (budget.monthlyLimitUsd !== null) {
    rules.push({ ...base, period: "monthly", limitUsd: budget.monthlyLimitUsd });
  }
  return rules;
}

/**
 * A 403 MODEL_NOT_ALLOWED for a target outside the key's models. It lets the
 * router fall back to the next target, so a route reaches the allowed models
 * in it; when none is, this is the request's answer, and nothing was called.
 */
export function modelNotAllowed(model: string): LLMError {
  return new LLMError(
    "MODEL_NOT_ALLOWED",
    `This gateway key may not use ${model}; its allowed models are listed by GET /keys`,
    { fallback: true, model },
  );
}
