/**
 * `GET/PUT/DELETE /budgets` and `GET/PUT/DELETE /rate-limits`: an account's
 * spending limits (members read them with the current spend, admins set
 * them) and its request rate limit (set by the platform's server code only: a
 * tenant must not raise its own limit). Every write is audited and takes
 * effect on the next request, in every isolate sharing the store.
 */
import { z } from "zod";
import { clipInput, HttpError, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { budgetRules } from "../_shared/data/guard-settings.ts";
import { isTimeZone } from "../_shared/guards/budget-windows.ts";
import { requireAdmin } from "../_shared/http/callers.ts";
import type { RouterRequestContext } from "./context.ts";
import { accountOf } from "./account-of.ts";
import { parseOrThrow } from "./validation.ts";
import { requireDb } from "./world.ts";
import { auditChange } from "./audit-change.ts";
import { requireServerKey } from "./server-only.ts";

const usd = z.number().min(0).max(1_000_000_000);
const budgetBody = z.strictObject({
  agentId: z.string().min(1).max(200).nullable().optional(),
  dailyLimitUsd: usd.nullable().optional(),
  monthlyLimitUsd: usd.nullable().optional(),
  alertThreshold: z.number().gt(0).max(1).optional(),
  timeZone: z.string().min(1).max(64).optional(),
});

const ceiling = z.strictObject({
  rpm: z.int().min(1).max(100_000_000).optional(),
  tpm: z.int().min(1).max(10_000_000_000).optional(),
});
const rateLimitBody = z.strictObject({
  requestsPerSecond: z.number().gt(0).max(1_000_000),
  burst: z.int().min(1).max(10_000_000),
  models: z.record(z.string().min(1).max(200), ceiling).optional(),
});

/** `GET /budgets`: the account's budgets with each window's spend, holds and reset time. */
export async function getBudgets(context: RouterRequestContext): Promise<Response> {
  const settings = requireDb(context.world.guardSettings);
  const access = await accountOf(context);
  const { budgets } = await settings.forAccount(access.accountId);
  const guard = context.world.guards.budgets!;
  const windows = await Promise.all(
    budgets.flatMap((budget) =>
      budgetRules(access.accountId, [budget], budget.agentId ?? undefined).map(async (rule) => {
        const { window, spentUsd, reservedUsd } = await guard.totals(rule);
        return {
          agentId: budget.agentId,
          period: rule.period,
          limitUsd: rule.limitUsd,
          spentUsd: round(spentUsd),
          reservedUsd: round(reservedUsd),
          remainingUsd: round(Math.max(0, rule.limitUsd - spentUsd - reservedUsd)),
          window: window.id,
          resetsAt: new Date(window.end).toISOString(),
        };
      })
    ),
  );
  return jsonResponse({ accountId: access.accountId, budgets, windows });
}

/** `PUT /budgets`: sets the account's budget, or one agent's with `agentId`. */
export async function putBudget(context: RouterRequestContext): Promise<Response> {
  const settings = requireDb(context.world.guardSettings);
  const access = await accountOf(context);
  requireAdmin(access, "set budgets");
  const body = parseOrThrow(budgetBody, context.body);
  const daily = body.dailyLimitUsd ?? null;
  const monthly = body.monthlyLimitUsd ?? null;
  if (daily === null && monthly === null) {
    throw validationError("dailyLimitUsd", "set dailyLimitUsd, monthlyLimitUsd or both");
  }
  const timeZone = body.timeZone ?? "UTC";
  if (!isTimeZone(timeZone)) {
    throw validationError("timeZone", "must be an IANA time zone such as UTC or Europe/Berlin");
  }
  const saved = await settings.putBudget(access.accountId, {
    agentId: body.agentId ?? null,
    dailyLimitUsd: daily,
    monthlyLimitUsd: monthly,
    alertThreshold: body.alertThreshold ?? 0.8,
    timeZone,
  });
  auditChange(context, access, {
    action: "budget.put",
    target: saved.agentId === null ? "account" : `agent:${saved.agentId}`,
    details: {
      dailyLimitUsd: saved.dailyLimitUsd,
      monthlyLimitUsd: saved.monthlyLimitUsd,
      alertThreshold: saved.alertThreshold,
      timeZone: saved.timeZone,
    },
  });
  return jsonResponse({ accountId: access.accountId, budget: saved });
}

/** `DELETE /budgets[?agentId=]`: removes the account's (or the agent's) budget. */
export async function deleteBudget(context: RouterRequestContext): Promise<Response> {
  const settings = requireDb(context.world.guardSettings);
  const access = await accountOf(context);
  requireAdmin(access, "remove budgets");
  const agentId = context.query.get("agentId");
  if (!await settings.deleteBudget(access.accountId, agentId)) {
    throw new HttpError(404, "NOT_FOUND", "There is no such budget");
  }
  auditChange(context, access, {
    action: "budget.delete",
    target: agentId === null ? "account" : `agent:${agentId}`,
  });
  return jsonResponse({ accountId: access.accountId, agentId, deleted: true });
}

/** `GET /rate-limits`: the account's limit (its own, or the deployment's default) and model ceilings. */
export async function getRateLimit(context: RouterRequestContext): Promise<Response> {
  const settings = requireDb(context.world.guardSettings);
  const access = await accountOf(context);
  const own = (await settings.forAccount(access.accountId)).rateLimit;
  const fallback = context.world.guardEnv.policy.defaultRate;
  return jsonResponse({
    accountId: access.accountId,
    source: own ? "account" : fallback ? "default" : "none",
    requestsPerSecond: own?.requestsPerSecond ?? fallback?.refillPerSecond ?? null,
    burst: own?.burst ?? fallback?.capacity ?? null,
    models: own?.models ?? {},
    platformModels: context.world.guardEnv.policy.modelCeilings,
  });
}

/** `PUT /rate-limits`: sets the account's rate limit. Server callers only. */
export async function putRateLimit(context: RouterRequestContext): Promise<Response> {
  const settings = requireDb(context.world.guardSettings);
  const access = await accountOf(context);
  requireServerKey(context.caller, "set rate limits");
  const body = parseOrThrow(rateLimitBody, context.body);
  const models = body.models ?? {};
  for (const model of Object.keys(models)) {
    if (!context.world.router.catalog.get(model)) {
      throw validationError("models", `unknown model ${clipInput(model)}`);
    }
  }
  const saved = await settings.putRateLimit(access.accountId, {
    requestsPerSecond: body.requestsPerSecond,
    burst: body.burst,
    models,
  });
  auditChange(context, access, {
    action: "rate_limit.put",
    target: "account",
    details: {
      requestsPerSecond: saved.requestsPerSecond,
      burst: saved.burst,
      models: Object.keys(saved.models).join(","),
    },
  });
  return jsonResponse({ accountId: access.accountId, rateLimit: saved });
}

/** `DELETE /rate-limits`: the account gets the deployment's default again. Server callers only. */
export async function deleteRateLimit(context: RouterRequestContext): Promise<Response> {
  const settings = requireDb(context.world.guardSettings);
  const access = await accountOf(context);
  requireServerKey(context.caller, "set rate limits");
  if (!await settings.deleteRateLimit(access.accountId)) {
    throw new HttpError(404, "NOT_FOUND", "The account has no rate limit of its own");
  }
  auditChange(context, access, { action: "rate_limit.delete", target: "account" });
  return jsonResponse({ accountId: access.accountId, deleted: true });
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
