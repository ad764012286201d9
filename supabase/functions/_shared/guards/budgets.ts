/**
 * llm-router's budget guard: the budget holds of budget-holds.ts with their
 * refusals as LLMError PAYMENT_REQUIRED (402), the error its runner, HTTP
 * layer, audit and metrics understand.
 */
import { LLMError } from "../llm/errors.ts";
import { BudgetExceeded } from "./budget-exceeded.ts";
import { type BudgetHold, BudgetHolds, type BudgetRule } from "./budget-holds.ts";

export type {
  BudgetAlert,
  BudgetHold,
  BudgetHoldsDeps as BudgetGuardDeps,
  BudgetRule,
} from "./budget-holds.ts";

/** Enforces budget rules on a StateStore; a spent window is LLMError PAYMENT_REQUIRED. */
export class BudgetGuard extends BudgetHolds {
  /** Holds `estimateUsd` under every rule, or throws 402 PAYMENT_REQUIRED naming the one that is spent. */
  override async reserve(rules: readonly BudgetRule[], estimateUsd: number): Promise<BudgetHold> {
    try {
      return await super.reserve(rules, estimateUsd);
    } catch (error) {
      if (error instanceof BudgetExceeded) {
        throw new LLMError("PAYMENT_REQUIRED", error.message, { details: error.details });
      }
      throw error;
    }
  }
}
