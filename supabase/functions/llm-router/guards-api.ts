/**
 * `GET/PUT/DELETE /budgets` and `GET/PUT/DELETE /rate-limits`: an account's
 * spending limits and price ceiling (members read them with the current
 * spend, admins set them) and its request rate limit (set by the platform's server code only: a
 * tenant must not raise its own limit). Every write is audited and takes
 * effect on the next request, in every isolate sharing the store.
 */
import { z } from "zod";
import { clipInput, HttpError, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { budgetRules } from "../_shared/data/guard-settings.ts";
import { isTimeZone } from "../_shared/guards/budget-windows.ts";
import { requireAdmin } from "../_shared/http/callers.ts";
import type { GuardSettingsRepository } from "../_shared/data/guard-settings.ts";
import type { BudgetGuard } from "../_shared/guards/budgets.ts";
import type { GuardPolicy } from "../_shared/guards/gateway-guards.ts";
import type { ModelCatalog } from "../_shared/llm/catalog.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import type { RequestContext } from "./context.ts";
import type { ChangeAudit } from "./change-audit.ts";
import { accountOf } from "./account-of.ts";
import { requireDb } from "./needs-database.ts";
import { requireServerKey } from "./server-only.ts";
import type { Route } from "./routes.ts";

const usd = z.number().min(0).max(1_000_000_000);
const budgetBody = z.strictObject({
  agentId: z.string().min(1).max(200).nullable().optional(),
  dailyLimitUsd: usd.nullable().optional(),
  monthlyLimitUsd: usd.nullable().optional(),
  /** USD per million tokens (`llm/price-ceiling.ts`); absent keeps the stored one, null removes it. */
  maxPricePerMTok: z.number().min(0).max(1_000_000).nullable().optional(),
  // The column keeps three decimals: a smaller share would round to 0, which it refuses.
  alertThreshold: z.number().min(0.001).max(1).optional(),
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

/** What the budget and rate-limit routes use. */
export interface GuardRoutesDeps {
  /** The accounts' budgets and limits; absent without a database (the routes answer 503). */
  settings?: GuardSettingsRepository;
  /** Spend and holds per budget window (present with the database). */
  budgets?: BudgetGuard;
  /** The deployment's default rate limit, model ceilings and price ceiling. */
  policy: GuardPolicy;
  /** The models a ceiling may name. */
  catalog: ModelCatalog;
  audit: ChangeAudit;
}

/** `GET/PUT/DELETE /budgets` and `GET/PUT/DELETE /rate-limits`. */
export function guardRoutes(deps: GuardRoutesDeps): Route[] {
  return [
    { method: "GET", pattern: "/budgets", handler: (r) => getBudgets(deps, r) },
    { method: "PUT", pattern: "/budgets", handler: (r) => putBudget(deps, r) },
    { method: "DELETE", pattern: "/budgets", handler: (r) => deleteBudget(deps, r) },
    { method: "GET", pattern: "/rate-limits", handler: (r) => getRateLimit(deps, r) },
    { method: "PUT", pattern: "/rate-limits", handler: (r) => putRateLimit(deps, r) },
    { method: "DELETE", pattern: "/rate-limits", handler: (r) => deleteRateLimit(deps, r) },
  ];
}

/** `GET /budgets`: the account's budgets and price ceilings with each window's spend, holds and reset time. */
async function getBudgets(deps: GuardRoutesDeps, request: RequestContext): Promise<Response> {
  const settings = requireDb(deps.settings);
  const access = await accountOf(request);
  const { budgets } = await settings.forAccount(access.accountId);
  const guard = requireDb(deps.budgets);
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
  return jsonResponse({
    accountId: access.accountId,
    budgets,
    windows,
    // The deployment's ceiling (LLM_MAX_PRICE_PER_MTOK), under which the account's own applies.
    platformMaxPricePerMTok: deps.policy.maxPricePerMTok ?? null,
  });
}

/** `PUT /budgets`: sets the account's budget and price ceiling, or one agent's budget with `agentId`. */
async function putBudget(deps: GuardRoutesDeps, request: RequestContext): Promise<Response> {
  const settings = requireDb(deps.settings);
  const access = await accountOf(request);
  requireAdmin(access, "set budgets");
  const body = parseOrThrow(budgetBody, request.body);
  const daily = body.dailyLimitUsd ?? null;
  const monthly = body.monthlyLimitUsd ?? null;
  const agentId = body.agentId ?? null;
  // A price ceiling is a routing rule: an agent's lives with the rest of its routing.
  if (agentId !== null && body.maxPricePerMTok !== undefined) {
    throw validationError(
      "maxPricePerMTok",
      "an agent's price ceiling is set with PUT /agents/:agentId/preferences",
    );
  }
  if (daily === null && monthly === null && (body.maxPricePerMTok ?? null) === null) {
    throw validationError(
      "dailyLimitUsd",
      "set dailyLimitUsd, monthlyLimitUsd, maxPricePerMTok or several (DELETE removes the budget)",
    );
  }
  const timeZone = body.timeZone ?? "UTC";
  if (!isTimeZone(timeZone)) {
    throw validationError("timeZone", "must be an IANA time zone such as UTC or Europe/Berlin");
  }
  const saved = await settings.putBudget(access.accountId, {
    agentId,
    dailyLimitUsd: daily,
    monthlyLimitUsd: monthly,
    maxPricePerMTok: body.maxPricePerMTok,
    alertThreshold: body.alertThreshold ?? 0.8,
    timeZone,
  });
  deps.audit.record(request, access, {
    action: "budget.put",
    target: saved.agentId === null ? "account" : `agent:${saved.agentId}`,
    details: {
      dailyLimitUsd: saved.dailyLimitUsd,
      monthlyLimitUsd: saved.monthlyLimitUsd,
      maxPricePerMTok: saved.maxPricePerMTok,
      alertThreshold: saved.alertThreshold,
      timeZone: saved.timeZone,
    },
  });
  return jsonResponse({ accountId: access.accountId, budget: saved });
}

/** `DELETE /budgets[?agentId=]`: removes the account's (or the agent's) budget. */
async function deleteBudget(deps: GuardRoutesDeps, request: RequestContext): Promise<Response> {
  const settings = requireDb(deps.settings);
  const access = await accountOf(request);
  requireAdmin(access, "remove budgets");
  const agentId = request.query.get("agentId");
  if (!await settings.deleteBudget(access.accountId, agentId)) {
    throw new HttpError(404, "NOT_FOUND", "There is no such budget");
  }
  deps.audit.record(request, access, {
    action: "budget.delete",
    target: agentId === null ? "account" : `agent:${agentId}`,
  });
  return jsonResponse({ accountId: access.accountId, agentId, deleted: true });
}

/** `GET /rate-limits`: the account's limit (its own, or the deployment's default) and model ceilings. */
async function getRateLimit(deps: GuardRoutesDeps, request: RequestContext): Promise<Response> {
  const settings = requireDb(deps.settings);
  const access = await accountOf(request);
  const own = (await settings.forAccount(access.accountId)).rateLimit;
  const fallback = deps.policy.defaultRate;
  return jsonResponse({
    accountId: access.accountId,
    source: own ? "account" : fallback ? "default" : "none",
    requestsPerSecond: own?.requestsPerSecond ?? fallback?.refillPerSecond ?? null,
    burst: own?.burst ?? fallback?.capacity ?? null,
    models: own?.models ?? {},
    platformModels: deps.policy.modelCeilings,
  });
}

/** `PUT /rate-limits`: sets the account's rate limit. Server callers only. */
async function putRateLimit(deps: GuardRoutesDeps, request: RequestContext): Promise<Response> {
  const settings = requireDb(deps.settings);
  const access = await accountOf(request);
  requireServerKey(request.caller, "set rate limits");
  const body = parseOrThrow(rateLimitBody, request.body);
  const models = body.models ?? {};
  for (const model of Object.keys(models)) {
    if (!deps.catalog.get(model)) {
      throw validationError("models", `unknown model ${clipInput(model)}`);
    }
  }
  const saved = await settings.putRateLimit(access.accountId, {
    requestsPerSecond: body.requestsPerSecond,
    burst: body.burst,
    models,
  });
  deps.audit.record(request, access, {
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
async function deleteRateLimit(deps: GuardRoutesDeps, request: RequestContext): Promise<Response> {
  const settings = requireDb(deps.settings);
  const access = await accountOf(request);
  requireServerKey(request.caller, "set rate limits");
  if (!await settings.deleteRateLimit(access.accountId)) {
    throw new HttpError(404, "NOT_FOUND", "The account has no rate limit of its own");
  }
  deps.audit.record(request, access, { action: "rate_limit.delete", target: "account" });
  return jsonResponse({ accountId: access.accountId, deleted: true });
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
