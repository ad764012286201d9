/**
 * Daily and monthly spending limits per account (and per agent): before a
 * call, hold its estimated maximum cost in every window that applies; after
 * it, swap the hold for the actual cost, or drop it if the call failed. A
 * ledger starts from what llm_usage already recorded for its window, and an
 * alert fires once per window when spend crosses the rule's threshold, and
 * once more when it reaches the limit.
 *
 * A refusal is a `BudgetExceeded`, not the router's LLMError, so that the
 * direct functions can hold budgets without loading the router core;
 * llm-router's `BudgetGuard` (budgets.ts) speaks LLMError.
 */
import { clipInput } from "../http/errors.ts";
import { BudgetExceeded } from "./budget-exceeded.ts";
import type { StateStore } from "../store/state-store.ts";
import { BudgetLedger, NANO_USD, toNano } from "./budget-ledger.ts";
import { type BudgetPeriod, type BudgetWindow, budgetWindow } from "./budget-windows.ts";

/** One limit: an account's (or one of its agents' or gateway keys') spend per day or month. */
export interface BudgetRule {
  accountId: string;
  /** Only this agent's requests; undefined for the whole account. */
  agentId?: string;
  /** Only the requests made with this gateway key (its own budget); never set with `agentId`. */
  keyId?: string;
  period: BudgetPeriod;
  limitUsd: number;
  /** Fraction of the limit at which to alert (0 < t ≤ 1). */
  alertThreshold: number;
  timeZone: string;
}

/**
 * A budget event, reported once per rule and window: spend crossed the
 * rule's alert threshold, or reached its limit (every request is refused
 * from then until the window ends).
 */
export interface BudgetAlert {
  kind: "threshold" | "exhausted";
  rule: BudgetRule;
  window: BudgetWindow;
  spentUsd: number;
}

/** What BudgetHolds needs. */
export interface BudgetHoldsDeps {
  store: StateStore;
  /** USD already recorded in llm_usage for the rule's scope within the window. */
  recordedSpend(rule: BudgetRule, window: BudgetWindow): Promise<number>;
  onAlert(alert: BudgetAlert): void;
  now(): number;
}

/** A held estimate, to be settled or released exactly once. */
export interface BudgetHold {
  /** Swaps the hold for `costUsd`. */
  settle(costUsd: number): Promise<void>;
  /** Drops the hold (the call was not made, or failed). */
  release(): Promise<void>;
}

interface Held {
  rule: BudgetRule;
  window: BudgetWindow;
  key: string;
  amount: number;
}

const usd = (nano: number) => nano / NANO_USD;
const money = (value: number) =>
  `$${value < 0.01 && value > 0 ? value.toFixed(6) : value.toFixed(2)}`;

/** Enforces budget rules on a StateStore. */
export class BudgetHolds {
  readonly #ledger: BudgetLedger;
  /** Seeds in flight here, so a burst of first requests asks llm_usage once. */
  readonly #seeding = new Map<string, Promise<{ spent: number; reserved: number }>>();

  constructor(private readonly deps: BudgetHoldsDeps) {
    this.#ledger = new BudgetLedger(deps.store);
  }

  /** The window and ledger key of `rule` now. */
  windowOf(rule: BudgetRule): { window: BudgetWindow; key: string } {
    const window = budgetWindow(rule.period, rule.timeZone, this.deps.now());
    // `key=` cannot come out of encodeURIComponent, so a key's ledger never meets an agent's.
    const agent = rule.keyId !== undefined
      ? `key=${rule.keyId}`
      : rule.agentId === undefined
      ? "*"
      : encodeURIComponent(rule.agentId);
    return {
      window,
      key: `budget:${rule.accountId}:${agent}:${rule.period}:${rule.timeZone}:${window.id}`,
    };
  }

  /** Current spend and holds of `rule`'s window, seeding it first when needed. */
  async totals(
    rule: BudgetRule,
  ): Promise<{ window: BudgetWindow; spentUsd: number; reservedUsd: number }> {
    const { window, key } = this.windowOf(rule);
    const totals = await this.#seed(rule, window, key);
    return { window, spentUsd: usd(totals.spent), reservedUsd: usd(totals.reserved) };
  }

  /** Holds `estimateUsd` under every rule, or throws `BudgetExceeded` naming the one that is spent. */
  async reserve(rules: readonly BudgetRule[], estimateUsd: number): Promise<BudgetHold> {
    const amount = toNano(estimateUsd);
    const held: Held[] = [];
    try {
      // Every window at once: with Redis the holds travel together, and a fresh isolate seeds
      // its day and month from llm_usage side by side rather than one query after the other.
      const verdicts = await Promise.allSettled(rules.map(async (rule) => {
        const { window, key } = this.windowOf(rule);
        const limit = toNano(rule.limitUsd);
        let verdict = await this.#ledger.reserve(key, amount, limit);
        if (verdict.status === "unseeded") {
          await this.#seed(rule, window, key);
          verdict = await this.#ledger.reserve(key, amount, limit);
        }
        if (verdict.status === "unseeded") {
          throw new Error("the budget ledger vanished while it was being seeded");
        }
        if (verdict.status === "reserved") held.push({ rule, window, key, amount });
        return { rule, window, verdict };
      }));
      // The first rule (in order) that refused or failed decides the answer.
      for (const outcome of verdicts) {
        if (outcome.status === "rejected") throw outcome.reason;
        const { rule, window, verdict } = outcome.value;
        if (verdict.status === "over") {
          throw overBudget(rule, window, verdict.spent, verdict.reserved, estimateUsd);
        }
      }
    } catch (error) {
      await this.#settleAll(held, 0).catch(() => {});
      throw error;
    }
    let done = false;
    const once = (cost: number) => {
      if (done) return Promise.resolve();
      done = true;
      return this.#settleAll(held, toNano(cost));
    };
    return { settle: (costUsd) => once(costUsd), release: () => once(0) };
  }

  #seed(rule: BudgetRule, window: BudgetWindow, key: string) {
    let seeding = this.#seeding.get(key);
    if (!seeding) {
      seeding = (async () => {
        const recorded = await this.deps.recordedSpend(rule, window);
        // The ledger outlives its window by a day, so late settles still land in it.
        return await this.#ledger.seed(
          key,
          toNano(recorded),
          window.end - this.deps.now() + 86_400_000,
        );
      })().finally(() => this.#seeding.delete(key));
      this.#seeding.set(key, seeding);
    }
    return seeding;
  }

  async #settleAll(held: Held[], actual: number): Promise<void> {
    await Promise.all(held.map(async (hold) => {
      const totals = await this.#ledger.settle(hold.key, hold.amount, actual);
      if (!totals || actual === 0) return;
      const { rule, window } = hold;
      const crossed: [BudgetAlert["kind"], number][] = [
        ["threshold", toNano(rule.limitUsd * rule.alertThreshold)],
        ["exhausted", toNano(rule.limitUsd)],
      ];
      // In order, so that a settle crossing both reports the threshold first.
      for (const [kind, level] of crossed) {
        if (totals.spent < level) continue;
        // The first settle past the level (in any isolate sharing the store) reports it.
        const first = await this.deps.store.setIfAbsent(
          `${hold.key}:${kind === "threshold" ? "alerted" : "exhausted"}`,
          true,
          window.end - this.deps.now() + 86_400_000,
        );
        if (first) this.deps.onAlert({ kind, rule, window, spentUsd: usd(totals.spent) });
      }
    }));
  }
}

function overBudget(
  rule: BudgetRule,
  window: BudgetWindow,
  spent: number,
  reserved: number,
  estimateUsd: number,
): BudgetExceeded {
  const scope = rule.keyId !== undefined
    ? "gateway key"
    : rule.agentId === undefined
    ? "account"
    : `agent ${clipInput(rule.agentId)}`;
  const period = rule.period === "daily" ? "day" : "month";
  return new BudgetExceeded(
    `The ${rule.period} budget of this ${scope} is spent: ${money(usd(spent))} spent and ${
      money(usd(reserved))
    } held by requests in flight, of a ${
      money(rule.limitUsd)
    } limit for this ${period} (${window.id}, ${rule.timeZone}); this request could cost up to ${
      money(estimateUsd)
    }`,
    {
      period: rule.period,
      window: window.id,
      timeZone: rule.timeZone,
      limitUsd: rule.limitUsd,
      spentUsd: usd(spent),
      reservedUsd: usd(reserved),
      estimateUsd,
      resetsAt: new Date(window.end).toISOString(),
      ...(rule.agentId !== undefined ? { agentId: rule.agentId } : {}),
      ...(rule.keyId !== undefined ? { keyId: rule.keyId } : {}),
    },
  );
}
