/**
 * In-memory provider adapters for router unit tests: each model answers from
 * a script (text, an error, a hang, a stream that fails after N events), and
 * every call is recorded with the key and request it was made with.
 */
import { LLMError, type LLMErrorCode } from "../../supabase/functions/_shared/llm/errors.ts";
import type {
  ProviderAdapter,
  ProviderAdapterInit,
  ProviderCallOptions,
} from "../../supabase/functions/_shared/llm/providers/provider.ts";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMEmbeddingRequest,
  LLMEmbeddingResponse,
  LLMStreamEvent,
} from "../../supabase/functions/_shared/llm/types.ts";

/** One scripted reaction. */
export type FakeStep =
  | { text: string; toolCalls?: { id: string; name: string; arguments: string }[] }
  | { error: LLMErrorCode; retryAfterMs?: number; fallback?: boolean }
  | { hang: true }
  /**
   * Streams `text` word by word, then fails with `error` after `failAfter` events (or never);
   * `firstEventAfterMs` holds the first event back that long (a model thinking).
   */
  | {
    streamText: string;
    failAfter?: number;
    error?: LLMErrorCode;
    stallAfter?: number;
    firstEventAfterMs?: number;
  };

/** A call as the fake saw it. */
export interface FakeCall {
  provider: string;
  model: string;
  apiKey: string;
  kind: "chat" | "stream" | "embed";
  request: LLMChatRequest | LLMEmbeddingRequest;
  aborted: () => boolean;
}

/** Scripts per model id; a model with no script left answers "ok from <model>". */
export class FakeProviders {
  readonly calls: FakeCall[] = [];
  readonly #scripts = new Map<string, FakeStep[]>();

  /** Queues reactions for `model`. */
  script(model: string, ...steps: FakeStep[]): this {
    this.#scripts.set(model, [...(this.#scripts.get(model) ?? []), ...steps]);
    return this;
  }

  /** An adapter factory for `LLMRouterOptions.createAdapter`. */
  readonly createAdapter = (init: ProviderAdapterInit): ProviderAdapter => {
    const record = (
      kind: FakeCall["kind"],
      request: FakeCall["request"],
      options: ProviderCallOptions,
    ) => {
      this.calls.push({
        provider: init.spec.name,
        model: options.model,
        apiKey: init.apiKey,
        kind,
        request,
        aborted: () => options.signal.aborted,
      });
      return this.#scripts.get(options.model)?.shift();
    };
    const adapter: ProviderAdapter = {
      name: init.spec.name,
      async chat(request, options) {
        const step = record("chat", request, options);
        await react(step, options, init.spec.name);
        const text = step && "text" in step ? step.text : `ok from ${options.model}`;
        return answer(
          init.spec.name,
          options.model,
          text,
          step && "text" in step ? step.toolCalls ?? [] : [],
        );
      },
      stream(request, options) {
        const step = record("stream", request, options);
        return streamOf(step, options, init.spec.name);
      },
      async embed(request: LLMEmbeddingRequest, options): Promise<LLMEmbeddingResponse> {
        const step = record("embed", request, options);
        await react(step, options, init.spec.name);
        return {
          embeddings: request.input.map((_, i) => [i, 0, 0]),
          usage: { inputTokens: request.input.length * 3 },
          provider: init.spec.name,
          model: options.model,
        };
      },
    };
    return adapter;
  };
}

function answer(
  provider: string,
  model: string,
  text: string,
  toolCalls: LLMChatResponse["toolCalls"],
): LLMChatResponse {
  return {
    text,
    toolCalls,
    finishReason: toolCalls.length ? "tool_calls" : "stop",
    usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 0, cacheWriteTokens: 0 },
    provider,
    model,
  };
}

function errorOf(
  code: LLMErrorCode,
  provider: string,
  model: string,
  extra: { retryAfterMs?: number; fallback?: boolean } = {},
) {
  const retryable = ["PROVIDER_ERROR", "RATE_LIMIT", "TIMEOUT", "NETWORK"].includes(code);
  return new LLMError(code, `fake ${code}`, { provider, model, retryable, ...extra });
}

async function react(
  step: FakeStep | undefined,
  options: ProviderCallOptions,
  provider: string,
): Promise<void> {
  if (!step) return;
  if ("error" in step && !("streamText" in step)) {
    throw errorOf(step.error, provider, options.model, step);
  }
  if ("hang" in step) await untilAborted(options, provider);
}

function untilAborted(options: ProviderCallOptions, provider: string): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(abortError(options, provider));
    if (options.signal.aborted) fail();
    else options.signal.addEventListener("abort", fail, { once: true });
  });
}

/** Waits `ms`, or fails as the adapters do when the call is aborted first. */
function delay(ms: number, options: ProviderCallOptions, provider: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = () => {
      clearTimeout(timer);
      reject(abortError(options, provider));
    };
    const timer = setTimeout(() => {
      options.signal.removeEventListener("abort", fail);
      resolve();
    }, ms);
    if (options.signal.aborted) fail();
    else options.signal.addEventListener("abort", fail, { once: true });
  });
}

/** TIMEOUT when the router's timeout aborted the call, ABORTED when the caller did. */
function abortError(options: ProviderCallOptions, provider: string): LLMError {
  const timeout = options.signal.reason instanceof DOMException &&
    options.signal.reason.name === "TimeoutError";
  return errorOf(timeout ? "TIMEOUT" : "ABORTED", provider, options.model);
}

async function* streamOf(
  step: FakeStep | undefined,
  options: ProviderCallOptions,
  provider: string,
): AsyncGenerator<LLMStreamEvent> {
  await react(step, options, provider);
  if (step && "streamText" in step && step.firstEventAfterMs) {
    await delay(step.firstEventAfterMs, options, provider);
  }
  const text = step && "streamText" in step ? step.streamText : `ok from ${options.model}`;
  const events: LLMStreamEvent[] = [
    { type: "start", provider, model: options.model },
    ...text.split(" ").map((word, i) => ({
      type: "text-delta" as const,
      text: i === 0 ? word : ` ${word}`,
    })),
    {
      type: "finish",
      finishReason: "stop",
      usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 0, cacheWriteTokens: 0 },
    },
  ];
  for (let i = 0; i < events.length; i++) {
    if (step && "streamText" in step) {
      if (step.failAfter === i) throw errorOf(step.error ?? "NETWORK", provider, options.model);
      if (step.stallAfter === i) await untilAborted(options, provider);
    }
    if (options.signal.aborted) throw errorOf("ABORTED", provider, options.model);
    yield events[i];
    await Promise.resolve();
  }
}
