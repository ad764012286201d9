/**
 * A stream up to and after its commit point. The router waits for the
 * provider's first event before answering 200, so an early failure can still
 * fall back; a first event slower than the commit threshold (a reasoning
 * model thinking) commits without it, since waiting longer risks the
 * platform's 504 — from then on a failure, even before the first event, is
 * the stream's error. After the commit this wraps the rest: an idle
 * watchdog, the breaker verdict when it ends, the usage and cost of the
 * answer, and an upstream abort when the consumer stops early.
 */
import { type CatalogModel, costOf } from "./catalog.ts";
import { asLLMError, LLMError } from "./errors.ts";
import { idleWatchdog } from "../runtime/idle-watchdog.ts";
import type { Attempt } from "./attempt.ts";
import type { ProviderAdapter } from "./providers/provider.ts";
import type { StreamCompletion } from "./route-types.ts";
import type { LLMChatRequest, LLMStreamEvent } from "./types.ts";
import { batchedEvents, batchesOf, type EventBatches } from "./event-batches.ts";

/** Breaker hooks, called once when the stream ends. */
export interface StreamVerdictHooks {
  onSuccess: () => Promise<void>;
  onFailure: (error: LLMError) => Promise<void>;
}

/** The stream's clocks. */
export interface StreamPacing {
  /** Silence between events after the first that aborts the upstream as TIMEOUT. */
  idleMs: number;
  /** Commit without the first event once it has been awaited this long. */
  commitAfterMs: number;
}

/** A committed stream. */
export interface CommittedStream {
  /** The events, readable a batch at a time (see event-batches.ts). */
  events: EventBatches;
  completion: Promise<StreamCompletion>;
  abort(): void;
  /** Settles when the first event is in hand or the stream failed before it; never rejects. */
  firstEvent: Promise<void>;
  /** True when it committed before its first event, and so can no longer fall back. */
  early: boolean;
}

/**
 * Opens `adapter`'s stream and waits for its first event (under the
 * attempt's timeout) or for `pacing.commitAfterMs`, whichever comes first;
 * throws, so the router can retry or fall back, if the stream fails before
 * either.
 */
export async function openCommittedStream(
  adapter: ProviderAdapter,
  request: LLMChatRequest,
  model: CatalogModel,
  attempt: Attempt,
  pacing: StreamPacing,
  hooks: StreamVerdictHooks,
): Promise<CommittedStream> {
  const iterator = batchesOf(adapter.stream(request, { model: model.id, signal: attempt.signal }))
    [Symbol.asyncIterator]();
  const endedEarly = () =>
    new LLMError(
      "PROVIDER_ERROR",
      `${adapter.name}/${model.id}: the stream ended before its first event`,
      { provider: adapter.name, model: model.id, retryable: true },
    );
  const firstRead = iterator.next();
  const first = await withinCommitWindow(firstRead, pacing.commitAfterMs);
  if (first === "commit") {
    // The first event's own timeout stays armed; it is disarmed when the event arrives.
    firstRead.then((read) => !read.done && attempt.disarm(), () => {});
  } else {
    if (first.done) throw endedEarly();
    attempt.disarm();
  }

  let settle!: (completion: StreamCompletion) => void;
  const completion = new Promise<StreamCompletion>((resolve) => (settle = resolve));
  let settled = false;
  const finish = (result: StreamCompletion) => {
    if (!settled) {
      settled = true;
      settle(result);
    }
  };

  async function* batches(): AsyncGenerator<LLMStreamEvent[]> {
    let watchdog: ReturnType<typeof idleWatchdog> | undefined;
    try {
      const head = await firstRead;
      if (head.done) throw endedEarly();
      watchdog = idleWatchdog(
        pacing.idleMs,
        () => attempt.abort(new DOMException("stream idle", "TimeoutError")),
      );
      let next: IteratorResult<LLMStreamEvent[]> = head;
      while (!next.done) {
        const batch = next.value;
        // Within a batch, `finish` is last: the answer is whole, so the verdict is in.
        const last = batch[batch.length - 1];
        if (last?.type === "finish") {
          await hooks.onSuccess();
          finish({
            ok: true,
            usage: last.usage,
            finishReason: last.finishReason,
            costUsd: costOf(model, last.usage),
          });
        }
        yield batch;
        next = await iterator.next();
        watchdog.touch();
      }
      if (!settled) {
        throw new LLMError(
          "PROVIDER_ERROR",
          `${adapter.name}/${model.id}: the stream ended without finishing`,
          { provider: adapter.name, model: model.id, retryable: true },
        );
      }
    } catch (thrown) {
      const error = attempt.signal.aborted && !(thrown instanceof LLMError)
        ? new LLMError("ABORTED", "The caller went away", {
          provider: adapter.name,
          model: model.id,
        })
        : asLLMError(thrown, { provider: adapter.name, model: model.id });
      if (error.retryable) await hooks.onFailure(error);
      finish({ ok: false, error });
      throw error;
    } finally {
      watchdog?.stop();
      if (!settled) {
        // The consumer stopped reading before the end: stop paying for tokens nobody reads.
        attempt.abort(new DOMException("consumer stopped reading", "AbortError"));
        finish({
          ok: false,
          error: new LLMError("ABORTED", "The caller stopped reading", { provider: adapter.name }),
        });
      }
      attempt.release();
      await iterator.return?.().catch(() => {});
    }
  }

  return {
    events: batchedEvents(batches()),
    completion,
    abort: () => attempt.abort(new DOMException("caller left", "AbortError")),
    firstEvent: firstRead.then(() => {}, () => {}),
    early: first === "commit",
  };
}

/**
 * The first read, or "commit" when it takes longer than `ms`. A read that
 * fails first rejects, so the attempt can still be retried or fall back.
 */
async function withinCommitWindow<T>(read: Promise<T>, ms: number): Promise<T | "commit"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const commit = new Promise<"commit">((resolve) => {
    timer = setTimeout(() => resolve("commit"), ms);
  });
  try {
    return await Promise.race([read, commit]);
  } finally {
    clearTimeout(timer);
  }
}
