/**
 * Running planned targets: each target gets attempts until one succeeds, the
 * error is not retryable, the retries run out, or its circuit opens; then
 * the next target, if the error allows a fallback. A model's deployments are
 * targets of their own, each with its own circuit, so one deployment's
 * failure moves the request to the next deployment of the same model first. A context-window error
 * skips to a larger-window model. Everything happens inside one request
 * deadline: no attempt starts with less than `MIN_ATTEMPT_MS` left, each
 * attempt's timeout is the lesser of its own and the time left, and no
 * backoff is slept that would leave no time for the retry.
 */
import type { RouterConfig } from "./config.ts";
import { asLLMError, LLMError } from "./errors.ts";
import { type Attempt, openAttempt } from "./attempt.ts";
import { circuitKey } from "./circuit-key.ts";
import { type CommittedStream, openCommittedStream } from "./committed-stream.ts";
import { finalError } from "./final-error.ts";
import { schemaToolAdapter } from "./forced-tool.ts";
import type { ProviderAdapter } from "./providers/provider.ts";
import type { ProviderPool } from "./provider-pool.ts";
import { type CircuitBreakerStore, retryDelayMs } from "./resilience.ts";
import type { Admission, PlannedTarget, TargetGate } from "./route-types.ts";
import type { SkippedTarget, SkipReason } from "./skip-reason.ts";
import type { LLMChatResponse, LLMEmbeddingRequest, LLMEmbeddingResponse } from "./types.ts";

/**
 * The least time an attempt is started with: the smallest timeout the
 * config accepts. With less left, the request ends with 504 TIMEOUT instead.
 */
export const MIN_ATTEMPT_MS = 100;

/** What a runner is built from. */
export interface RunnerDeps {
  /** Where each target's adapter comes from. */
  adapters: Pick<ProviderPool, "adapter">;
  config: Pick<RouterConfig, "retry" | "timeouts">;
  breakers: CircuitBreakerStore;
  /** Whose keys the circuits count (`platform`, `account:<id>`). */
  breakerScope: string;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** One request's run. */
export interface RunRequest {
  /** The caller's signal: its abort ends everything. */
  signal: AbortSignal;
  /** Collects the targets left out on the way. */
  skipped: SkippedTarget[];
  gate?: TargetGate;
  /** Epoch ms on the runner's clock after which nothing is started. */
  deadlineAt: number;
}

/** The winning attempt. */
export interface RunResult<T> {
  value: T;
  target: PlannedTarget;
  attempts: number;
  fallbackIndex: number;
  /** Time spent waiting on providers (for a stream: until it committed). */
  upstreamMs: number;
  /** Time spent in backoff between attempts. */
  waitedMs: number;
  /** The winning target's admission, to settle with the real cost. */
  admission?: Admission;
}

/** How one kind of call runs. */
interface CallKind<T> {
  call: (target: PlannedTarget, attempt: Attempt, breakerKey: string) => Promise<T>;
  /** This kind's own attempt timeout. */
  timeoutMs: number;
  /** Keep the winning attempt linked to the caller (a stream releases it when it ends). */
  keepAttempt?: boolean;
}

/** Runs targets with retries and fallbacks, under circuits and a deadline. */
export class Runner {
  constructor(private readonly deps: RunnerDeps) {}

  /** A finished chat answer from the first target that gives one. */
  chat(
    targets: AsyncIterable<PlannedTarget>,
    run: RunRequest,
  ): Promise<RunResult<LLMChatResponse>> {
    return this.#run(targets, run, {
      timeoutMs: this.deps.config.timeouts.requestMs,
      call: (target, attempt) =>
        this.#chatAdapter(target).chat(target.request, {
          model: target.model.id,
          signal: attempt.signal,
        }),
    });
  }

  /** A stream, committed at its first event or after the commit threshold. */
  stream(
    targets: AsyncIterable<PlannedTarget>,
    run: RunRequest,
  ): Promise<RunResult<CommittedStream>> {
    const { timeouts } = this.deps.config;
    return this.#run(targets, run, {
      timeoutMs: timeouts.firstEventMs,
      keepAttempt: true,
      call: (target, attempt, breakerKey) =>
        openCommittedStream(
          this.#chatAdapter(target),
          target.request,
          target.model,
          attempt,
          { idleMs: timeouts.idleMs, commitAfterMs: timeouts.commitAfterMs },
          {
            onSuccess: () => this.#recordSuccess(breakerKey),
            onFailure: (error) => this.#recordFailure(breakerKey, error),
          },
        ),
    });
  }

  /** Vectors for `request.input` from the first target that gives them. */
  embed(
    targets: AsyncIterable<PlannedTarget>,
    request: LLMEmbeddingRequest,
    run: RunRequest,
  ): Promise<RunResult<LLMEmbeddingResponse>> {
    return this.#run(targets, run, {
      timeoutMs: this.deps.config.timeouts.requestMs,
      call: (target, attempt) =>
        this.deps.adapters.adapter(target.spec, target.deployment).embed!(
          { input: request.input, dimensions: request.dimensions },
          { model: target.model.id, signal: attempt.signal },
        ),
    });
  }

  async #run<T>(
    targets: AsyncIterable<PlannedTarget>,
    run: RunRequest,
    kind: CallKind<T>,
  ): Promise<RunResult<T>> {
    const { breakers, now } = this.deps;
    const failures: LLMError[] = [];
    let attempts = 0;
    let fallbackIndex = -1;
    let windowFloor = 0;
    let upstreamMs = 0;
    let waitedMs = 0;
    let cutByDeadline = false;
    const aborted = (provider: string, model?: string) =>
      new LLMError("ABORTED", "The caller went away", { provider, model });

    targetLoop: for await (const target of targets) {
      const model = target.model.id;
      const provider = target.spec.name;
      const deployment = target.deployment?.name;
      if (target.model.contextWindow <= windowFloor) {
        run.skipped.push(
          skippedTarget(model, deployment, {
            kind: "window-not-larger",
            overflowedWindow: windowFloor,
          }),
        );
        continue;
      }
      const leftAtStart = run.deadlineAt - now();
      if (leftAtStart < MIN_ATTEMPT_MS) {
        run.skipped.push(
          skippedTarget(model, deployment, { kind: "deadline", leftMs: leftAtStart }),
        );
        cutByDeadline = true;
        break;
      }
      fallbackIndex++;
      const breakerKey = circuitKey(this.deps.breakerScope, provider, model, deployment);
      let admission: Admission | undefined;
      for (let retry = 0;; retry++) {
        // The circuit read and the target's admission run together: against a shared store
        // that is one round trip, not two. A target skipped for its circuit gives back its hold.
        const admitting = run.gate && !admission
          ? run.gate.admit(target).then(
            (granted) => ({ granted }),
            (refused: unknown) => ({ refused }),
          )
          : undefined;
        const [state, admitted] = await Promise.all([breakers.state(breakerKey, now()), admitting]);
        if (admitted && "granted" in admitted) admission = admitted.granted;
        if (state === "OPEN") {
          run.skipped.push(skippedTarget(model, deployment, { kind: "circuit-open" }));
          const named = deployment === undefined ? model : `${model}@${deployment}`;
          failures.push(
            new LLMError("CIRCUIT_BREAKER_OPEN", `${provider}/${named}: circuit open`, {
              provider,
              model,
              fallback: true,
            }),
          );
          break;
        }
        if (admitted && "refused" in admitted) {
          const refusal = asLLMError(admitted.refused, { provider, model });
          run.skipped.push(skippedTarget(model, deployment, { kind: "refused", error: refusal }));
          failures.push(refusal);
          break;
        }
        const left = run.deadlineAt - now();
        if (left < MIN_ATTEMPT_MS) {
          admission?.release();
          run.skipped.push(skippedTarget(model, deployment, { kind: "deadline", leftMs: left }));
          cutByDeadline = true;
          break targetLoop;
        }
        attempts++;
        const timeoutMs = Math.min(kind.timeoutMs, left);
        const attempt = openAttempt(run.signal, timeoutMs);
        const callStarted = performance.now();
        try {
          const value = await kind.call(target, attempt, breakerKey);
          upstreamMs += performance.now() - callStarted;
          if (!kind.keepAttempt) {
            attempt.release();
            await this.#recordSuccess(breakerKey);
          }
          return { value, target, attempts, fallbackIndex, upstreamMs, waitedMs, admission };
        } catch (thrown) {
          upstreamMs += performance.now() - callStarted;
          attempt.release();
          if (run.signal.aborted) {
            admission?.release();
            throw aborted(provider, model);
          }
          const error = asLLMError(thrown, { provider, model });
          failures.push(error);
          await this.#recordFailure(breakerKey, error);
          // An attempt whose timeout was the deadline's, and that ran out, ran out of request time.
          if (error.code === "TIMEOUT" && timeoutMs < kind.timeoutMs) cutByDeadline = true;
          if (error.code === "TOKEN_LIMIT_EXCEEDED") {
            windowFloor = target.model.contextWindow;
            break;
          }
          const wait = retryDelayMs(error, retry + 1, this.deps.config.retry, this.deps.random);
          if (wait === undefined) break;
          if (now() + wait + MIN_ATTEMPT_MS > run.deadlineAt) {
            // No time for this target's retry; a fallback starts without waiting.
            cutByDeadline = true;
            break;
          }
          const sleepStarted = performance.now();
          try {
            await this.deps.sleep(wait, run.signal);
            waitedMs += performance.now() - sleepStarted;
          } catch {
            admission?.release();
            throw aborted(provider);
          }
        }
      }
      // This target is done with: whatever it held goes back.
      admission?.release();
      if (!failures.at(-1)!.fallback) throw failures.at(-1)!;
    }
    throw finalError({ failures, attempts, skipped: run.skipped, cutByDeadline });
  }

  /** The target's adapter; a schema guaranteed by a forced tool call comes back as content. */
  #chatAdapter(target: PlannedTarget): ProviderAdapter {
    const adapter = this.deps.adapters.adapter(target.spec, target.deployment);
    return target.schemaTool ? schemaToolAdapter(adapter, target.schemaTool) : adapter;
  }

  #recordSuccess(key: string): Promise<void> {
    return this.deps.breakers.recordSuccess(key, this.deps.now()).then(() => {});
  }

  /** Only failures that say something about the provider's health count against it. */
  #recordFailure(key: string, error: LLMError): Promise<void> {
    if (!error.retryable) return Promise.resolve();
    return this.deps.breakers.recordFailure(key, this.deps.now()).then(() => {});
  }
}

/** A skipped target, naming its deployment when it has one. */
function skippedTarget(
  model: string,
  deployment: string | undefined,
  reason: SkipReason,
): SkippedTarget {
  return deployment === undefined ? { model, reason } : { model, deployment, reason };
}
