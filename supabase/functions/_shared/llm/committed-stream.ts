/**
 * A stream after its commit point. The router reads the provider's first
 * event before answering 200; from then on this wraps the rest: an idle
 * watchdog, the breaker verdict when it ends, the usage and cost of the
 * answer, and an upstream abort when the consumer stops early.
 */
import { type CatalogModel, costOf } from "./catalog.ts";
import { asLLMError, LLMError } from "./errors.ts";
import { idleWatchdog } from "../runtime/idle-watchdog.ts";
import type { Attempt } from "./attempts.ts";
import type { ProviderAdapter } from "./providers/provider.ts";
import type { LLMChatRequest, LLMFinishReason, LLMStreamEvent, LLMUsage } from "./types.ts";

/** How a committed stream ended. */
export type StreamCompletion =
  | { ok: true; usage: LLMUsage; finishReason: LLMFinishReason; costUsd: number }
  | { ok: false; error: LLMError };

/** Breaker hooks, called once when the stream ends. */
export interface StreamVerdictHooks {
  onSuccess: () => Promise<void>;
  onFailure: (error: LLMError) => Promise<void>;
}

/** A stream whose first event has arrived. */
export interface CommittedStream {
  events: AsyncIterable<LLMStreamEvent>;
  completion: Promise<StreamCompletion>;
  abort(): void;
}

/**
 * Opens `adapter`'s stream and waits for its first event (under the
 * attempt's first-event timeout); throws, so the router can retry or fall
 * back, if the stream fails before that.
 */
export async function openCommittedStream(
  adapter: ProviderAdapter,
  request: LLMChatRequest,
  model: CatalogModel,
  attempt: Attempt,
  idleMs: number,
  hooks: StreamVerdictHooks,
): Promise<CommittedStream> {
  const iterator = adapter.stream(request, { model: model.id, signal: attempt.signal })
    [Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) {
    throw new LLMError(
      "PROVIDER_ERROR",
      `${adapter.name}/${model.id}: the stream ended before its first event`,
      {
        provider: adapter.name,
        model: model.id,
        retryable: true,
      },
    );
  }
  attempt.disarm();

  let settle!: (completion: StreamCompletion) => void;
  const completion = new Promise<StreamCompletion>((resolve) => (settle = resolve));
  let settled = false;
  const finish = (result: StreamCompletion) => {
    if (!settled) {
      settled = true;
      settle(result);
    }
  };

  async function* events(): AsyncGenerator<LLMStreamEvent> {
    const watchdog = idleWatchdog(
      idleMs,
      () => attempt.abort(new DOMException("stream idle", "TimeoutError")),
    );
    try {
      yield first.value;
      while (true) {
        const next = await iterator.next();
        if (next.done) break;
        watchdog.touch();
        const event = next.value;
        if (event.type === "finish") {
          await hooks.onSuccess();
          finish({
            ok: true,
            usage: event.usage,
            finishReason: event.finishReason,
            costUsd: costOf(model, event.usage),
          });
        }
        yield event;
      }
      if (!settled) {
        throw new LLMError(
          "PROVIDER_ERROR",
          `${adapter.name}/${model.id}: the stream ended without finishing`,
          {
            provider: adapter.name,
            model: model.id,
            retryable: true,
          },
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
      watchdog.stop();
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
    events: events(),
    completion,
    abort: () => attempt.abort(new DOMException("caller left", "AbortError")),
  };
}
