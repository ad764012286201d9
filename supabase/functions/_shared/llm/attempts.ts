/**
 * The retry-and-fallback loop shared by chat, stream and embeddings: each
 * target gets attempts until one succeeds, the error is not retryable, the
 * retries run out, or its circuit opens; then the next target, if the error
 * allows a fallback. A context-window error skips to a larger-window model.
 */
import type { CatalogModel } from "./catalog.ts";
import { asLLMError, LLMError } from "./errors.ts";
import type { ProviderSpec } from "./providers/provider.ts";
import type { CircuitBreakerStore, RetryPolicy } from "./resilience.ts";
import { retryDelayMs } from "./resilience.ts";
import type { Admission, PlannedTarget, SkippedTarget } from "./router.ts";

/** A target with its circuit key. */
export interface AttemptTarget {
  planned: PlannedTarget;
  model: CatalogModel;
  spec: ProviderSpec;
  breakerKey: string;
}

/** One attempt's cancellation: the caller's signal plus this attempt's timeout. */
export interface Attempt {
  signal: AbortSignal;
  /** Stops the timeout (a stream's first event arrived); the caller's abort still applies. */
  disarm(): void;
  /** Unlinks from the caller's signal once the attempt is over. */
  release(): void;
  abort(reason: unknown): void;
}

/** What the loop needs from the router. */
export interface AttemptContext {
  timeoutMs: number;
  signal: AbortSignal;
  skipped: SkippedTarget[];
  retry: RetryPolicy;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
  breakers: CircuitBreakerStore;
  /** Keep the winning attempt linked to the caller (streams release it when they end). */
  keepSignalOnSuccess?: boolean;
  /**
   * Admits a target before its first attempt (budgets, per-model ceilings);
   * throws an LLMError to refuse it: with `fallback` the next target is tried.
   */
  admit?: (target: AttemptTarget) => Promise<Admission>;
}

/** The winning attempt. */
export interface AttemptResult<T> {
  value: T;
  target: AttemptTarget;
  attempts: number;
  fallbackIndex: number;
  /** Time spent waiting on providers (for a stream: until its first event). */
  upstreamMs: number;
  /** Time spent in backoff between attempts. */
  waitedMs: number;
  /** The winning target's admission, to settle with the real cost. */
  admission?: Admission;
}

/** Opens an attempt under `parent` that times out after `ms`. */
export function openAttempt(parent: AbortSignal, ms: number): Attempt {
  const controller = new AbortController();
  const onParentAbort = () =>
    controller.abort(parent.reason ?? new DOMException("caller left", "AbortError"));
  if (parent.aborted) onParentAbort();
  else parent.addEventListener("abort", onParentAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(
    () => controller.abort(new DOMException("attempt timed out", "TimeoutError")),
    ms,
  );
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return {
    signal: controller.signal,
    disarm,
    release: () => {
      disarm();
      parent.removeEventListener("abort", onParentAbort);
    },
    abort: (reason) => controller.abort(reason),
  };
}

/** Runs `call` over `targets` with retries and fallbacks; throws the right `LLMError` when all fail. */
export async function runAttempts<T>(
  targets: AsyncIterable<AttemptTarget>,
  call: (target: AttemptTarget, attempt: Attempt) => Promise<T>,
  context: AttemptContext,
): Promise<AttemptResult<T>> {
  const failures: LLMError[] = [];
  let attempts = 0;
  let fallbackIndex = -1;
  let windowFloor = 0;
  let upstreamMs = 0;
  let waitedMs = 0;

  for await (const target of targets) {
    if (target.model.contextWindow <= windowFloor) {
      context.skipped.push({
        model: target.model.id,
        reason: "window no larger than one that overflowed",
      });
      continue;
    }
    fallbackIndex++;
    let admission: Admission | undefined;
    for (let retry = 0;; retry++) {
      // The circuit read and the target's admission run together: against a shared store
      // that is one round trip, not two. A target skipped for its circuit gives back its hold.
      const admitting = context.admit && !admission
        ? context.admit(target).then(
          (granted) => ({ granted }),
          (refused: unknown) => ({ refused }),
        )
        : undefined;
      const [state, admitted] = await Promise.all([
        context.breakers.state(target.breakerKey, context.now()),
        admitting,
      ]);
      if (admitted && "granted" in admitted) admission = admitted.granted;
      if (state === "OPEN") {
        context.skipped.push({ model: target.model.id, reason: "circuit open" });
        failures.push(
          new LLMError(
            "CIRCUIT_BREAKER_OPEN",
            `${target.spec.name}/${target.model.id}: circuit open`,
            {
              provider: target.spec.name,
              model: target.model.id,
              fallback: true,
            },
          ),
        );
        break;
      }
      if (admitted && "refused" in admitted) {
        const refusal = asLLMError(admitted.refused, {
          provider: target.spec.name,
          model: target.model.id,
        });
        context.skipped.push({ model: target.model.id, reason: refusal.message });
        failures.push(refusal);
        break;
      }
      attempts++;
      const attempt = openAttempt(context.signal, context.timeoutMs);
      const callStarted = performance.now();
      try {
        const value = await call(target, attempt);
        upstreamMs += performance.now() - callStarted;
        if (!context.keepSignalOnSuccess) {
          attempt.release();
          await context.breakers.recordSuccess(target.breakerKey, context.now());
        }
        return { value, target, attempts, fallbackIndex, upstreamMs, waitedMs, admission };
      } catch (thrown) {
        upstreamMs += performance.now() - callStarted;
        attempt.release();
        if (context.signal.aborted) {
          admission?.release();
          throw new LLMError("ABORTED", "The caller went away", {
            provider: target.spec.name,
            model: target.model.id,
          });
        }
        const error = asLLMError(thrown, { provider: target.spec.name, model: target.model.id });
        failures.push(error);
        if (error.retryable) await context.breakers.recordFailure(target.breakerKey, context.now());
        if (error.code === "TOKEN_LIMIT_EXCEEDED") {
          windowFloor = target.model.contextWindow;
          break;
        }
        const wait = retryDelayMs(error, retry + 1, context.retry, context.random);
        if (wait === undefined) break;
        const sleepStarted = performance.now();
        try {
          await context.sleep(wait, context.signal);
          waitedMs += performance.now() - sleepStarted;
        } catch {
          admission?.release();
          throw new LLMError("ABORTED", "The caller went away", { provider: target.spec.name });
        }
      }
    }
    // This target is done with: whatever it held goes back.
    admission?.release();
    if (!failures.at(-1)!.fallback) throw failures.at(-1)!;
  }
  throw finalError(failures, attempts, context.skipped);
}

/** The error to report once every target has failed or been skipped. */
function finalError(failures: LLMError[], attempts: number, skipped: SkippedTarget[]): LLMError {
  const last = failures.at(-1);
  const reasons = skipped.map((s) => `${s.model}: ${s.reason}`).join("; ");
  if (!last) {
    const tooLarge = skipped.find((s) => s.reason === "context window too small");
    if (
      tooLarge &&
      skipped.every((s) =>
        s.reason === "context window too small" || s.reason.startsWith("no API key")
      )
    ) {
      return tooLarge.error ??
        new LLMError("TOKEN_LIMIT_EXCEEDED", "The request does not fit any available model");
    }
    return new LLMError(
      "NO_PROVIDER",
      `No model can serve this request (${reasons || "no candidates"})`,
      {
        details: { skipped: reasons },
      },
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
