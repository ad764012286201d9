/**
 * The guards of the direct (OpenAI) path, on the same StateStore state as
 * llm-router's: each user's token bucket (429 before any upstream call), and
 * the account's budgets (llm_budgets) held in the very ledger llm-router
 * holds them in, so routed and direct spend count against one budget. When
 * the store or the database fails, a guard fails open (logged) or closed
 * (503 GUARD_UNAVAILABLE) per LLM_GUARDS_FAIL_CLOSED, as llm-router's do.
 */
import type { AuthenticatedUser } from "../http/auth.ts";
import type { Memberships } from "../http/callers.ts";
import { HttpError } from "../http/errors.ts";
import type { Logger } from "../runtime/log.ts";
import { redactSecrets } from "../runtime/redact.ts";
import { budgetRules, type GuardSettingsRepository } from "../data/guard-settings.ts";
import { BudgetExceeded } from "../guards/budget-exceeded.ts";
import type { BudgetHold, BudgetHolds, BudgetRule } from "../guards/budget-holds.ts";
import { takeTokens, type TokenBucket } from "../guards/token-bucket.ts";
import type { StateStore } from "../store/state-store.ts";
import { accountOfUser } from "./account.ts";
import { errorMessage } from "../runtime/error-message.ts";

/** What the guards run on. */
export interface DirectGuardsDeps {
  store: StateStore;
  /** Each user's bucket; undefined: no rate limit. */
  rate?: TokenBucket;
  /** Account settings (budgets); undefined without a database, and then no budget applies. */
  settings?: GuardSettingsRepository;
  budgets?: BudgetHolds;
  /** Undefined without a database: the account is the JWT's, else the user's id. */
  memberships?: Memberships;
  failClosed: boolean;
  now: () => number;
  log: Logger;
  /** Keeps settle writes alive after the response. */
  waitUntil: (work: Promise<unknown>) => void;
}

/** An admitted request: its account and its budget hold, settled or released exactly once. */
export interface DirectAdmission {
  accountId: string;
  /** Swaps the hold for the actual cost, off the hot path. */
  settle(costUsd: number): void;
  /** Gives the hold back: the call cost nothing. */
  release(): void;
}

/** A request the guards refused (or, failing closed, could not check). */
export class GuardRefusal extends HttpError {
  constructor(
    error: HttpError,
    /** The account, when it was known by then. */
    readonly accountId: string | undefined,
    /** Which limit refused; undefined when a guard was unavailable. */
    readonly rejected?: "rate_limit" | "budget",
  ) {
    super(error.status, error.code, error.message, error.details, error.headers);
    this.name = "GuardRefusal";
  }
}

/**
 * The answer to a guard that could not run: with `failClosed`, the 503 to
 * refuse with; otherwise undefined, after logging that it failed open.
 */
export function unavailableGuard(
  guard: string,
  error: unknown,
  failClosed: boolean,
  log: Logger,
): HttpError | undefined {
  const detail = redactSecrets(errorMessage(error)).slice(
    0,
    300,
  );
  if (failClosed) {
    return new HttpError(503, "GUARD_UNAVAILABLE", `The ${guard} guard is unavailable: ${detail}`, {
      retryable: true,
    });
  }
  log.warn("guard_unavailable", { guard, detail, failOpen: true });
  return undefined;
}

/** Applies the guards. One per isolate. */
export class DirectGuards {
  constructor(private readonly deps: DirectGuardsDeps) {}

  /**
   * Takes a token from the user's bucket and holds `maxCostUsd` under the
   * account's budgets; throws `GuardRefusal` (429, 402 or 503) when refused.
   * The account and its budgets come first (cached: no round trip once
   * warm); then the token and the hold are asked for at once, so with Redis
   * they travel in one pipelined round trip. A hold taken beside a refused
   * token is given back.
   */
  async admit(user: AuthenticatedUser, maxCostUsd: number): Promise<DirectAdmission> {
    const accountId = await this.#accountOf(user);
    const rules = await this.#rules(accountId);
    const budgets = rules.length > 0 ? this.deps.budgets : undefined;
    const [token, held] = await Promise.allSettled([
      this.#takeToken(user.userId, accountId),
      budgets
        ? this.#guarded("budget", accountId, () => budgets.reserve(rules, maxCostUsd), undefined)
        : undefined,
    ]);
    const admission = this.#admission(
      accountId,
      held.status === "fulfilled" ? held.value : undefined,
    );
    const verdict = token.status === "fulfilled" ? token.value : undefined;
    if (token.status === "rejected" || (verdict && !verdict.allowed)) {
      admission.release();
      if (token.status === "rejected") throw token.reason;
      throw new GuardRefusal(
        rateLimited(this.deps.rate!, verdict!.retryAfterMs),
        accountId,
        "rate_limit",
      );
    }
    if (held.status === "rejected") throw held.reason;
    return admission;
  }

  #takeToken(userId: string, accountId: string) {
    const bucket = this.deps.rate;
    if (!bucket) return Promise.resolve(undefined);
    // The direct functions limit users (their bucket is not the account's llm-router bucket).
    return this.#guarded(
      "rate_limit",
      accountId,
      () => takeTokens(this.deps.store, `rate:direct:user:${userId}`, bucket, this.deps.now()),
      undefined,
    );
  }

  async #accountOf(user: AuthenticatedUser): Promise<string> {
    const memberships = this.deps.memberships;
    if (!memberships) return await accountOfUser(user);
    const found = await this.#guarded(
      "account",
      undefined,
      () => accountOfUser(user, memberships),
      undefined,
    );
    // Failing open, the account is the JWT's, else the user's own.
    return found ?? await accountOfUser(user);
  }

  async #rules(accountId: string): Promise<BudgetRule[]> {
    const settings = this.deps.settings;
    if (!settings) return [];
    const found = await this.#guarded(
      "settings",
      accountId,
      () => settings.forAccount(accountId),
      { budgets: [] },
    );
    // No agent on this path: the account-wide budgets apply.
    return budgetRules(accountId, found.budgets, undefined);
  }

  #admission(accountId: string, hold: BudgetHold | undefined): DirectAdmission {
    const finish = (work: Promise<void>) =>
      this.deps.waitUntil(work.catch((error) =>
        this.deps.log.error("budget_settle_failed", {
          detail: errorMessage(error),
        })
      ));
    return {
      accountId,
      settle: (costUsd) => hold && finish(hold.settle(costUsd)),
      release: () => hold && finish(hold.release()),
    };
  }

  /** Runs a guard step; a refusal is thrown as a 402, a failure of the store fails open or closed. */
  async #guarded<T, F>(
    guard: string,
    accountId: string | undefined,
    step: () => Promise<T>,
    fallback: F,
  ): Promise<T | F> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof BudgetExceeded) {
        throw new GuardRefusal(
          new HttpError(402, error.code, error.message, { retryable: false, ...error.details }),
          accountId,
          "budget",
        );
      }
      const refusal = unavailableGuard(guard, error, this.deps.failClosed, this.deps.log);
      if (refusal) throw new GuardRefusal(refusal, accountId);
      return fallback;
    }
  }
}

/** The 429 of an empty bucket, worded and shaped as llm-router's. */
function rateLimited(bucket: TokenBucket, retryAfterMs: number): HttpError {
  return new HttpError(
    429,
    "RATE_LIMIT_EXCEEDED",
    `Rate limit exceeded: ${bucket.refillPerSecond} requests per second, bursts of ${bucket.capacity}; retry in ${retryAfterMs} ms`,
    {
      retryable: false,
      limitPerSecond: bucket.refillPerSecond,
      burst: bucket.capacity,
      retryAfterMs,
    },
    { "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
  );
}
