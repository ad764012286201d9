/**
 * The guards one routed request passes, composed: the caller's token bucket
 * (a gateway key's own first, then its account's; before anything else, no
 * upstream call when refused), the price ceiling its targets must stay under
 * (the deployment's, the account's and the agent's, tightest first), then,
 * per target the router tries, a gateway key's allowed models, per-model
 * ceilings and a budget hold (the account's, the agent's and the key's rules
 * together). Everything lives in the StateStore, so isolates sharing Redis
 * enforce one limit.
 *
 * When the store (or the settings database) fails, guards fail open by
 * default: a broken Redis must not take the gateway down with it. Set
 * `failClosed` to refuse with 503 GUARD_UNAVAILABLE instead.
 */
import type { Logger } from "../runtime/log.ts";
import { errorMessage } from "../runtime/error-message.ts";
import { maxCostOf } from "../llm/catalog.ts";
import { tightestCeiling } from "../llm/price-ceiling.ts";
import { LLMError } from "../llm/errors.ts";
import type { Admission, PlannedTarget, TargetGate } from "../llm/route-types.ts";
import type { StateStore } from "../store/state-store.ts";
import type { GatewayKeyGrant } from "../http/callers.ts";
import {
  type AccountGuardSettings,
  accountPriceCeiling,
  type AgentCeilingSource,
  budgetRules,
  type GuardSettingsSource,
  type ModelCeiling,
} from "./account-settings.ts";
import { type BudgetAlert, BudgetGuard, type BudgetHold, type BudgetRule } from "./budgets.ts";
import { readTokens, takeTokens, type TokenBucket } from "./token-bucket.ts";
import { addPerMinute } from "./window-counter.ts";
import { keyBucket, keyBudgetRules, modelNotAllowed } from "./key-limits.ts";
import {
  accountScope,
  bucketKey,
  type BucketStatus,
  keyScope,
  RateLimitRefusal,
  type RateLimitStatus,
  scopeOf,
  tighter,
} from "./rate-limit-scope.ts";

/** Deployment-wide guard settings (from env). */
export interface GuardPolicy {
  /** The bucket of an account without its own row; undefined: such accounts are not limited. */
  defaultRate?: TokenBucket;
  /** Ceilings per model across the whole deployment (the provider's quota). */
  modelCeilings: Record<string, ModelCeiling>;
  /** `LLM_MAX_PRICE_PER_MTOK`: no target priced above it, for any caller; undefined: none. */
  maxPricePerMTok?: number;
  failClosed: boolean;
}

/** What the guards need. */
export interface GatewayGuardsDeps {
  store: StateStore;
  /** Per-account settings (data/guard-settings.ts); without them only the defaults apply and there are no budgets. */
  settings?: GuardSettingsSource;
  /** Agents' own price ceilings (data/preferences.ts); without them only the deployment's and accounts' apply. */
  agentCeilings?: AgentCeilingSource;
  policy: GuardPolicy;
  now: () => number;
  log: Logger;
  /** Keeps settle writes alive after the response. */
  waitUntil: (work: Promise<unknown>) => void;
  onBudgetAlert: (alert: BudgetAlert) => void;
  /**
   * Whether a deployment of some model (`LLM_DEPLOYMENTS`) has an rpm/tpm
   * ceiling of its own: its targets carry it, and then every request needs a gate.
   */
  deploymentCeilings?: boolean;
}

/** Who a request is for. */
export interface GuardedCaller {
  accountId?: string;
  userId?: string;
  agentId?: string;
  /** The gateway key the request came with: its own bucket, budget and models apply too. */
  key?: GatewayKeyGrant;
}

/** What admitting a request gives its route. */
export interface AdmittedRequest {
  /** The gate for the router's targets; undefined when no budget or ceiling applies. */
  gate?: TargetGate;
  /** The caller's bucket after this request's token; undefined when no rate limit applies (or its store failed open). */
  rateLimit?: RateLimitStatus;
  /** The tightest price ceiling of the deployment, the account and the agent; undefined: none. */
  maxPricePerMTok?: number;
}

/** Applies the guards. One per isolate. */
export class GatewayGuards {
  readonly budgets?: BudgetGuard;
  /**
   * Whether the platform has any per-model or per-deployment ceiling (policy
   * is fixed for the guards' life).
   */
  readonly #platformCeilings: boolean;

  constructor(private readonly deps: GatewayGuardsDeps) {
    this.#platformCeilings = hasAny(deps.policy.modelCeilings) || deps.deploymentCeilings === true;
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
   * Takes one token from the caller's bucket (throws a 429 `RateLimitRefusal`
   * when it is empty) and returns the gate for the router's targets with the
   * bucket's status after the take, which the take itself answered: no
   * second store round trip. Also the request's price ceiling; the agent's is
   * read alongside the account's settings, not after them.
   */
  async admit(
    caller: GuardedCaller,
    options?: { rateLimited?: boolean },
  ): Promise<AdmittedRequest> {
    const [settings, agentCeiling] = await Promise.all([
      this.#settings(caller.accountId),
      this.#agentCeiling(caller),
    ]);
    const maxPricePerMTok = tightestCeiling(
      this.deps.policy.maxPricePerMTok,
      accountPriceCeiling(settings),
      agentCeiling,
    );
    const bucket = bucketOf(settings, this.deps.policy);
    const scope = scopeOf(caller);
    let rateLimit: RateLimitStatus | undefined;
    // Queued jobs are paced by their runner, not by the caller's bucket.
    if (options?.rateLimited !== false) {
      // The key's own bucket first: a key refused by its own limit takes nothing from its account's.
      const own = caller.key && keyBucket(caller.key);
      if (own) {
        rateLimit = await this.#take(keyScope(caller.key!.id), own, "The gateway key's rate limit");
      }
      if (bucket && scope) {
        rateLimit = tighter(rateLimit, await this.#take(scope, bucket, "Rate limit"));
      }
    }
    return { gate: this.#gate(caller, settings, scope), rateLimit, maxPricePerMTok };
  }

  /**
   * Takes one token from the bucket of `scope`: its status after the take,
   * undefined when its store failed open. Throws a 429 `RateLimitRefusal`
   * when it is empty, its message starting with `limit` (whose limit it is).
   */
  async #take(
    scope: string,
    bucket: TokenBucket,
    limit: string,
  ): Promise<RateLimitStatus | undefined> {
    const verdict = await this.#guarded(
      "rate_limit",
      () => takeTokens(this.deps.store, bucketKey(scope), bucket, this.deps.now()),
      undefined,
    );
    if (!verdict) return undefined;
    const status = {
      limit: bucket.capacity,
      remaining: verdict.remaining,
      resetMs: verdict.resetMs,
    };
    if (verdict.allowed) return status;
    throw new RateLimitRefusal(
      `${limit} exceeded: ${bucket.refillPerSecond} requests per second, bursts of ${bucket.capacity}; retry in ${verdict.retryAfterMs} ms`,
      {
        retryAfterMs: verdict.retryAfterMs,
        details: { limitPerSecond: bucket.refillPerSecond, burst: bucket.capacity },
      },
      status,
    );
  }

  /**
   * The account's bucket as its next request would find it, read without
   * taking a token. A store that fails is a 503 GUARD_UNAVAILABLE here: a
   * status must not pass a guess off as the bucket.
   */
  async rateLimitStatus(accountId: string): Promise<BucketStatus> {
    const scope = accountScope(accountId);
    const settings = await this.#settings(accountId);
    const bucket = bucketOf(settings, this.deps.policy);
    const source = settings.rateLimit ? "account" : bucket ? "default" : "none";
    if (!bucket) return { scope, source };
    const reading = await this.#strict(
      "rate_limit",
      () => readTokens(this.deps.store, bucketKey(scope), bucket, this.deps.now()),
    );
    return { scope, source, bucket, reading };
  }

  /** Refills the account's bucket (a missing bucket is a full one); returns its scope. */
  async resetRateLimit(accountId: string): Promise<string> {
    const scope = accountScope(accountId);
    await this.#strict("rate_limit", () => this.deps.store.delete(bucketKey(scope)));
    return scope;
  }

  #gate(
    caller: GuardedCaller,
    settings: AccountGuardSettings,
    scope: string | undefined,
  ): TargetGate | undefined {
    let rules = caller.accountId && this.budgets && settings.budgets.length > 0
      ? budgetRules(caller.accountId, settings.budgets, caller.agentId)
      : NO_RULES;
    if (caller.key?.budget && this.budgets) rules = [...rules, ...keyBudgetRules(caller.key)];
    const allowed = caller.key?.allowedModels && new Set(caller.key.allowedModels);
    const accountCeilings = settings.rateLimit?.models;
    const anyAccountCeiling = accountCeilings !== undefined && hasAny(accountCeilings);
    if (rules.length === 0 && !anyAccountCeiling && !this.#platformCeilings && !allowed) {
      return undefined;
    }
    const ceilingScope = scope ?? "platform-caller";
    return {
      admit: (target) =>
        this.#admitTarget(
          target,
          rules,
          anyAccountCeiling ? accountCeilings : undefined,
          ceilingScope,
          allowed,
        ),
    };
  }

  async #admitTarget(
    target: PlannedTarget,
    rules: readonly BudgetRule[],
    accountCeilings: Record<string, ModelCeiling> | undefined,
    scope: string,
    allowed: ReadonlySet<string> | undefined,
  ): Promise<Admission> {
    const model = target.model.id;
    // Before anything is held or counted: a model the key may not use costs nothing.
    if (allowed && !allowed.has(model)) throw modelNotAllowed(model);
    const maxTokens = target.request.maxTokens ?? 0;
    const tokens = target.inputTokens + maxTokens;
    const now = this.deps.now();
    // Every check is issued at once: with Redis they travel in one pipelined round trip.
    const checks: Promise<LLMError | undefined>[] = [];
    const platform = ceilingOf(this.deps.policy.modelCeilings, model);
    if (platform) this.#ceilingChecks(checks, "platform", model, platform, tokens, now);
    const own = accountCeilings && ceilingOf(accountCeilings, model);
    if (own) this.#ceilingChecks(checks, scope, model, own, tokens, now);
    // A deployment's own ceiling is its key's quota: full, the next deployment of the model is tried.
    const deployment = target.deployment;
    if (deployment?.ceiling) {
      this.#ceilingChecks(
        checks,
        `deployment:${deployment.name}`,
        model,
        deployment.ceiling,
        tokens,
        now,
        `${model}@${deployment.name}`,
      );
    }
    const budgets = rules.length > 0 ? this.budgets : undefined;
    const holding = budgets
      ? this.#guarded(
        "budget",
        () => budgets.reserve(rules, maxCostOf(target.model, target.inputTokens, maxTokens)),
        undefined,
      )
      : undefined;
    if (checks.length === 0) {
      const hold = await holding;
      return hold ? this.#admission(hold) : NO_HOLD;
    }
    const [held, ...verdicts] = await Promise.allSettled([holding, ...checks]);
    const hold = held.status === "fulfilled" ? held.value : undefined;
    let refusal: unknown = held.status === "rejected" ? held.reason : undefined;
    for (const verdict of verdicts) {
      if (refusal) break;
      refusal = verdict.status === "rejected" ? verdict.reason : verdict.value;
    }
    if (refusal) {
      // A ceiling refused after the budget held (or the other way round): give the hold back.
      if (hold) this.#admission(hold).release();
      throw refusal;
    }
    return hold ? this.#admission(hold) : NO_HOLD;
  }

  /**
   * Adds the rpm and tpm checks of `ceiling` (one scope's, for `model`) to
   * `checks`; a refusal names `subject` (the model, or `model@deployment`).
   */
  #ceilingChecks(
    checks: Promise<LLMError | undefined>[],
    scope: string,
    model: string,
    ceiling: ModelCeiling,
    tokens: number,
    now: number,
    subject = model,
  ): void {
    if (ceiling.rpm !== undefined) {
      checks.push(this.#ceilingCheck("rpm", scope, model, ceiling.rpm, 1, now, subject));
    }
    if (ceiling.tpm !== undefined) {
      checks.push(this.#ceilingCheck("tpm", scope, model, ceiling.tpm, tokens, now, subject));
    }
  }

  async #ceilingCheck(
    unit: "rpm" | "tpm",
    scope: string,
    model: string,
    limit: number,
    amount: number,
    now: number,
    subject: string,
  ): Promise<LLMError | undefined> {
    const verdict = await this.#guarded(
      "model_ceiling",
      () => addPerMinute(this.deps.store, `${unit}:${scope}:${model}`, amount, limit, now),
      undefined,
    );
    if (!verdict || verdict.allowed) return undefined;
    return new LLMError(
      "RATE_LIMIT_EXCEEDED",
      `${subject} is at its ${
        unit === "rpm" ? "requests" : "tokens"
      }-per-minute ceiling (${limit})`,
      { retryable: true, fallback: true, retryAfterMs: verdict.retryAfterMs, model },
    );
  }

  #admission(hold: BudgetHold): Admission {
    return {
      settle: (costUsd) => this.#finish(hold.settle(costUsd)),
      release: () => this.#finish(hold.release()),
    };
  }

  /** Keeps a settle write alive after the response; its failure is logged, never thrown. */
  #finish(work: Promise<void>): void {
    this.deps.waitUntil(work.catch(this.#settleFailed));
  }

  readonly #settleFailed = (error: unknown) =>
    this.deps.log.error("budget_settle_failed", { detail: errorMessage(error) });

  /** The agent's own price ceiling; a store failure fails open or closed like the settings. */
  async #agentCeiling(caller: GuardedCaller): Promise<number | undefined> {
    const source = this.deps.agentCeilings;
    const { accountId, agentId } = caller;
    if (!source || !accountId || !agentId) return undefined;
    return await this.#guarded(
      "settings",
      () => source.agentPriceCeiling(accountId, agentId),
      undefined,
    );
  }

  async #settings(accountId: string | undefined): Promise<AccountGuardSettings> {
    const settings = this.deps.settings;
    if (!accountId || !settings) return NO_SETTINGS;
    return await this.#guarded("settings", () => settings.forAccount(accountId), NO_SETTINGS);
  }

  /** Runs a guard step whose store failure is a 503 whatever the policy (operator reads and resets). */
  async #strict<T>(guard: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      const detail = errorMessage(error);
      throw new LLMError("GUARD_UNAVAILABLE", `The ${guard} guard is unavailable: ${detail}`, {
        retryable: true,
      });
    }
  }

  /** Runs a guard step; a failure of the store (not a refusal) fails open or closed per policy. */
  async #guarded<T, F>(guard: string, step: () => Promise<T>, fallback: F): Promise<T | F> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof LLMError) throw error;
      const detail = errorMessage(error);
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
const NO_RULES: readonly BudgetRule[] = Object.freeze([]);
/** An account without settings of its own (or whose settings could not be read, failing open); read only. */
const NO_SETTINGS: AccountGuardSettings = { budgets: [] };

/** Whether `record` has any own key (without building the key list). */
function hasAny(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

/** `model`'s ceiling in `byModel`, if it has one (own keys only: a model id is caller input). */
function ceilingOf(
  byModel: Record<string, ModelCeiling>,
  model: string,
): ModelCeiling | undefined {
  return Object.hasOwn(byModel, model) ? byModel[model] : undefined;
}

/** The account's own bucket, else the deployment's default, else none. */
function bucketOf(settings: AccountGuardSettings, policy: GuardPolicy): TokenBucket | undefined {
  return settings.rateLimit
    ? { capacity: settings.rateLimit.burst, refillPerSecond: settings.rateLimit.requestsPerSecond }
    : policy.defaultRate;
}
