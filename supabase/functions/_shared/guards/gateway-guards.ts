/**
 * The guards one routed request passes, composed: the caller's token bucket
 * (before anything else, no upstream call when refused), then, per target the
 * router tries, per-model ceilings and a budget hold. Everything lives in the
 * StateStore, so isolates sharing Redis enforce one limit.
 *
 * When the store (or the settings database) fails, guards fail open by
 * default: a broken Redis must not take the gateway down with it. Set
 * `failClosed` to refuse with 503 GUARD_UNAVAILABLE instead.
 */
import type { Logger } from "../http/log.ts";
import { maxCostOf } from "../llm/catalog.ts";
import { LLMError } from "../llm/errors.ts";
import type { Admission, PlannedTarget, TargetGate } from "../llm/router.ts";
import type { StateStore } from "../store/state-store.ts";
import {
  type AccountGuardSettings,
  budgetRules,
  type GuardSettingsRepository,
  type ModelCeiling,
} from "../data/guard-settings.ts";
import { type BudgetAlert, BudgetGuard, type BudgetHold, type BudgetRule } from "./budgets.ts";
import { takeTokens, type TokenBucket } from "./token-bucket.ts";
import { addPerMinute } from "./window-counter.ts";

/** Deployment-wide guard settings (from env). */
export interface GuardPolicy {
  /** The bucket of an account without its own row; undefined: such accounts are not limited. */
  defaultRate?: TokenBucket;
  /** Ceilings per model across the whole deployment (the provider's quota). */
  modelCeilings: Record<string, ModelCeiling>;
  failClosed: boolean;
}

/** What the guards need. */
export interface GatewayGuardsDeps {
  store: StateStore;
  /** Per-account settings; without a database only the defaults apply and there are no budgets. */
  settings?: GuardSettingsRepository;
  policy: GuardPolicy;
  now: () => number;
  log: Logger;
  /** Keeps settle writes alive after the response. */
  waitUntil: (work: Promise<unknown>) => void;
  onBudgetAlert: (alert: BudgetAlert) => void;
}

/** Who a request is for. */
export interface GuardedCaller {
  accountId?: string;
  userId?: string;
  agentId?: string;
}

/** Applies the guards. One per isolate. */
export class GatewayGuards {
  readonly budgets?: BudgetGuard;

  constructor(private readonly deps: GatewayGuardsDeps) {
    const settings = deps.settings;
    if (settings) {
      this.budgets = new BudgetGuard({
        store: deps.store,
        recordedSpend: (rule, window) => settings.recordedSpend(rule, window),
        onAlert: deps.onBudgetAlert,
        now: deps.now,
      });
    }
  }

  /**
   * Takes one token from the caller's bucket (throws 429 RATE_LIMIT_EXCEEDED
   * when it is empty) and returns the gate for the router's targets
   * (undefined when no budget or ceiling applies).
   */
  async admit(
    caller: GuardedCaller,
    options: { rateLimited?: boolean } = {},
  ): Promise<TargetGate | undefined> {
    const settings = await this.#settings(caller.accountId);
    const bucket = settings.rateLimit
      ? {
        capacity: settings.rateLimit.burst,
        refillPerSecond: settings.rateLimit.requestsPerSecond,
      }
      : this.deps.policy.defaultRate;
    const scope = caller.accountId
      ? `acct:${caller.accountId}`
      : caller.userId
      ? `user:${caller.userId}`
      : undefined;
    // Queued jobs are paced by their runner, not by the caller's bucket.
    if (bucket && scope && options.rateLimited !== false) {
      const verdict = await this.#guarded(
        "rate_limit",
        () => takeTokens(this.deps.store, `rate:${scope}`, bucket, this.deps.now()),
        undefined,
      );
      if (verdict && !verdict.allowed) {
        throw new LLMError(
          "RATE_LIMIT_EXCEEDED",
          `Rate limit exceeded: ${bucket.refillPerSecond} requests per second, bursts of ${bucket.capacity}; retry in ${verdict.retryAfterMs} ms`,
          {
            retryAfterMs: verdict.retryAfterMs,
            details: {
              limitPerSecond: bucket.refillPerSecond,
              burst: bucket.capacity,
            },
          },
        );
      }
    }
    const rules = caller.accountId && this.budgets
      ? budgetRules(caller.accountId, settings.budgets, caller.agentId)
      : [];
    const accountCeilings = settings.rateLimit?.models ?? {};
    const platformCeilings = this.deps.policy.modelCeilings;
    if (
      rules.length === 0 && Object.keys(accountCeilings).length === 0 &&
      Object.keys(platformCeilings).length === 0
    ) {
      return undefined;
    }
    return {
      admit: (target) =>
        this.#admitTarget(target, rules, [
          ["platform", platformCeilings],
          [scope ?? "platform-caller", accountCeilings],
        ]),
    };
  }

  async #admitTarget(
    target: PlannedTarget,
    rules: BudgetRule[],
    ceilings: [string, Record<string, ModelCeiling>][],
  ): Promise<Admission> {
    const model = target.model.id;
    const tokens = target.inputTokens + (target.request.maxTokens ?? 0);
    const now = this.deps.now();
    // Every check is issued at once: with Redis they travel in one pipelined round trip.
    const checks: Promise<LLMError | undefined>[] = [];
    for (const [scope, byModel] of ceilings) {
      const ceiling = byModel[model];
      if (!ceiling) continue;
      for (
        const [unit, limit, amount] of [["rpm", ceiling.rpm, 1], [
          "tpm",
          ceiling.tpm,
          tokens,
        ]] as const
      ) {
        if (limit === undefined) continue;
        checks.push(
          this.#guarded(
            "model_ceiling",
            () => addPerMinute(this.deps.store, `${unit}:${scope}:${model}`, amount, limit, now),
            undefined,
          ).then((verdict) =>
            verdict && !verdict.allowed
              ? new LLMError(
                "RATE_LIMIT_EXCEEDED",
                `${model} is at its ${
                  unit === "rpm" ? "requests" : "tokens"
                }-per-minute ceiling (${limit})`,
                { retryable: true, fallback: true, retryAfterMs: verdict.retryAfterMs, model },
              )
              : undefined
          ),
        );
      }
    }
    const budgets = rules.length > 0 ? this.budgets : undefined;
    const estimate = maxCostOf(target.model, target.inputTokens, target.request.maxTokens ?? 0);
    const holding = budgets
      ? this.#guarded("budget", () => budgets.reserve(rules, estimate), undefined)
      : Promise.resolve(undefined);
    const [held, ...verdicts] = await Promise.allSettled([holding, ...checks]);
    const hold = held.status === "fulfilled" ? held.value : undefined;
    const refusal = held.status === "rejected"
      ? held.reason
      : verdicts.map((v) => v.status === "rejected" ? v.reason : v.value).find(Boolean);
    if (refusal) {
      // A ceiling refused after the budget held (or the other way round): give the hold back.
      if (hold) this.#admission(hold).release();
      throw refusal;
    }
    return hold ? this.#admission(hold) : NO_HOLD;
  }

  #admission(hold: BudgetHold): Admission {
    const finish = (work: Promise<void>) =>
      this.deps.waitUntil(work.catch((error) =>
        this.deps.log.error("budget_settle_failed", {
          detail: error instanceof Error ? error.message : String(error),
        })
      ));
    return {
      settle: (costUsd) => finish(hold.settle(costUsd)),
      release: () => finish(hold.release()),
    };
  }

  async #settings(accountId: string | undefined): Promise<AccountGuardSettings> {
    const settings = this.deps.settings;
    if (!accountId || !settings) return { budgets: [] };
    return await this.#guarded("settings", () => settings.forAccount(accountId), { budgets: [] });
  }

  /** Runs a guard step; a failure of the store (not a refusal) fails open or closed per policy. */
  async #guarded<T, F>(guard: string, step: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof LLMError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      if (this.deps.policy.failClosed) {
        throw new LLMError("GUARD_UNAVAILABLE", `The ${guard} guard is unavailable: ${detail}`, {
          retryable: true,
        });
      }
      this.deps.log.warn("guard_unavailable", { guard, detail, failOpen: true });
      return fallback;
    }
  }
}

const NO_HOLD: Admission = { settle: () => {}, release: () => {} };
