/**
 * A budget hold refused: the window of one rule is spent. A small error of
 * the guards' own rather than the router's LLMError, so the direct functions
 * can hold budgets without loading the router core. Callers turn it into
 * their 402 PAYMENT_REQUIRED: llm-router through LLMError (budgets.ts), the
 * direct functions through HttpError, both with this message and details.
 */

/** What the 402 body carries beside code and message. */
export type BudgetExceededDetails = Record<string, string | number>;

/** The refusal; its message names the rule, the spend and the estimate. */
export class BudgetExceeded extends Error {
  /** The code both 402s answer with. */
  readonly code = "PAYMENT_REQUIRED";

  constructor(message: string, readonly details: BudgetExceededDetails) {
    super(message);
    this.name = "BudgetExceeded";
  }
}
