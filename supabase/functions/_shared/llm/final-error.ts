/**
 * The one error a request gets once every target has failed or been
 * skipped: the cause most useful to the caller, with the status that tells
 * it what to do (fix the request, wait, or try later).
 */
import { LLMError } from "./errors.ts";
import { describeSkipped, type SkippedTarget } from "./skip-reason.ts";

/** What the run saw. */
export interface RunFailures {
  failures: readonly LLMError[];
  attempts: number;
  skipped: readonly SkippedTarget[];
  /** The request deadline cut a retry, a fallback or an attempt's wait short. */
  cutByDeadline: boolean;
}

/** The error to report once every target has failed or been skipped. */
export function finalError({ failures, attempts, skipped, cutByDeadline }: RunFailures): LLMError {
  const last = failures.at(-1);
  const reasons = describeSkipped(skipped);
  if (cutByDeadline) return deadlineError(attempts, last);
  if (!last) {
    const tooLarge = skipped.find((s) => s.reason.kind === "window-too-small");
    if (
      tooLarge?.reason.kind === "window-too-small" &&
      skipped.every((s) => s.reason.kind === "window-too-small" || s.reason.kind === "no-key")
    ) {
      return tooLarge.reason.error;
    }
    const ceiling = priceCeilingError(skipped, reasons);
    if (ceiling) return ceiling;
    return new LLMError(
      "NO_PROVIDER",
      `No model can serve this request (${reasons || "no candidates"})`,
      { details: { skipped: reasons } },
    );
  }
  if (failures.every((f) => f.code === "CIRCUIT_BREAKER_OPEN")) {
    return new LLMError("CIRCUIT_BREAKER_OPEN", `Every candidate's circuit is open (${reasons})`, {
      retryable: true,
    });
  }
  const real = failures.filter((f) => f.code !== "CIRCUIT_BREAKER_OPEN");
  if (real.length > 0 && real.every((f) => f.code === "RATE_LIMIT_EXCEEDED")) {
    // Every target was at its own ceiling: the caller waits for the first to free up.
    const waits = real.map((f) => f.retryAfterMs ?? 0);
    return new LLMError(
      "RATE_LIMIT_EXCEEDED",
      `Every candidate model is at its rate limit (${reasons})`,
      { retryable: true, retryAfterMs: Math.min(...waits) },
    );
  }
  if (real.length > 0 && real.every((f) => f.code === "RATE_LIMIT")) {
    const waits = real.map((f) => f.retryAfterMs).filter((ms): ms is number => ms !== undefined);
    return new LLMError(
      "RATE_LIMIT",
      `Rate limited by every provider tried (${attempts} attempts)`,
      {
        retryable: true,
        retryAfterMs: waits.length ? Math.min(...waits) : undefined,
        details: { attempts },
      },
    );
  }
  const lastReal = real.at(-1) ?? last;
  if (attempts > 1 && lastReal.retryable) {
    return new LLMError(
      "MAX_RETRIES_EXCEEDED",
      `All ${attempts} attempts failed; last: ${lastReal.message}`,
      {
        retryable: true,
        provider: lastReal.provider,
        model: lastReal.model,
        details: { attempts, lastErrorCode: lastReal.code },
      },
    );
  }
  return lastReal;
}

/**
 * 422 PRICE_CEILING_EXCEEDED when nothing was tried and the price ceiling
 * left out a candidate that had a key and the capabilities needed (the
 * planner checks the price after those): the ceiling, not an outage, stopped
 * the request, so it is neither a 503 to retry nor a 402 to top up, and no
 * later try succeeds until the request or the ceiling changes.
 */
function priceCeilingError(
  skipped: readonly SkippedTarget[],
  reasons: string,
): LLMError | undefined {
  const over = skipped.find((s) => s.reason.kind === "over-price-ceiling");
  if (over?.reason.kind !== "over-price-ceiling") return undefined;
  const ceiling = over.reason.ceiling;
  return new LLMError(
    "PRICE_CEILING_EXCEEDED",
    `Every model that could serve this request is priced above the ceiling of $${ceiling} per million tokens (${reasons})`,
    { details: { maxPricePerMTok: ceiling, attempts: 0, skipped: reasons } },
  );
}

/** 504 TIMEOUT: the request's deadline ended the retries and fallbacks. */
function deadlineError(attempts: number, last: LLMError | undefined): LLMError {
  return new LLMError(
    "TIMEOUT",
    `No answer within the request deadline (${attempts} attempts)` +
      (last ? `; last: ${last.message}` : ""),
    {
      retryable: true,
      provider: last?.provider,
      model: last?.model,
      details: { attempts, ...(last ? { lastErrorCode: last.code } : {}) },
    },
  );
}
