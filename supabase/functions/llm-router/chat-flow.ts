/**
 * One chat request through the gateway's guards, in order: the caller's rate
 * limit (refused before anything else costs), the response cache (a hit is
 * served without an upstream call and costs nothing), then the router, whose
 * targets stay under the price ceiling and each pass the budget and
 * model-ceiling gate. A successful miss fills the cache, a streamed one
 * included.
 */
import type { LLMRouter } from "../_shared/llm/router.ts";
import type { RoutedStream, RouteOutcome, RouteRequest } from "../_shared/llm/route-types.ts";
import { batchedEvents, batchesOf, type EventBatches } from "../_shared/llm/event-batches.ts";
import { tightestCeiling } from "../_shared/llm/price-ceiling.ts";
import type { LLMChatResponse, LLMStreamEvent } from "../_shared/llm/types.ts";
import {
  type CacheStatus,
  replayEvents,
  type ResponseCache,
  responseCacheKey,
  StreamedAnswer,
} from "../_shared/guards/response-cache.ts";
import type { GatewayGuards, GuardedCaller } from "../_shared/guards/gateway-guards.ts";
import type { RateLimitStatus } from "../_shared/guards/rate-limit-scope.ts";
import type { ChatAnswer } from "../_shared/dialects/chat-dialect.ts";
import type { Logger } from "../_shared/runtime/log.ts";
import type { WaitUntil } from "../_shared/runtime/background.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";

/** What the flow runs with, once per isolate. */
export interface ChatFlowDeps {
  guards: GatewayGuards;
  /** Absent when the response cache is off. */
  cache?: ResponseCache;
  /** Use cases whose requests are cached unless they say `cache: false`. */
  cacheUseCases: ReadonlySet<string>;
  /** What a client leaving mid-stream does to the upstream call. */
  onClientDisconnect: "finish" | "abort";
  waitUntil: WaitUntil;
  now: () => number;
  log: Logger;
}

/** One request to run. */
export interface ChatFlowRequest {
  /** The router request, its account resolved. */
  request: RouteRequest;
  router: LLMRouter;
  caller: GuardedCaller;
  /** Whose cache entries the request may see (`acct:<id>`, `user:<id>`, …); absent: no cache. */
  cacheScope?: string;
  /** The request's own cache choice; absent: its use case's setting. */
  cache?: boolean;
  /** More than 1 runs the router's tool loop (never cached, never streamed). */
  maxSteps?: number;
  /** False for queued jobs: their runner paces them, not the caller's bucket. */
  rateLimited: boolean;
  signal: AbortSignal;
  requestId: string;
}

/** How a request was served, with the caller's bucket after its token (the `x-ratelimit-*` headers). */
interface Served {
  cache: CacheStatus;
  rateLimit?: RateLimitStatus;
}

/** A finished answer. */
export type AnsweredChat = Served & { answer: ChatAnswer };

/** A committed stream. */
export type StreamedChat = Served & { routed: RoutedStream };

/** The request past the door's guards: gated, and looked up in the cache. */
interface Admitted {
  request: RouteRequest;
  rateLimit?: RateLimitStatus;
  /** The cache key, when the request is cached. */
  key?: string;
  hit?: LLMChatResponse;
}

/** Runs chat requests through guards, cache and router. One per isolate. */
export class ChatFlow {
  constructor(private readonly deps: ChatFlowDeps) {}

  /** A finished answer (the tool loop when `maxSteps` > 1); failures are thrown as `LLMError`s. */
  async answer(flow: ChatFlowRequest): Promise<AnsweredChat> {
    const toolLoop = flow.maxSteps !== undefined && flow.maxSteps > 1;
    const { request, rateLimit, key, hit } = await this.#admit(flow, !toolLoop);
    if (hit) {
      const route = cachedRoute(hit, request.useCase ?? "general");
      return { answer: { ...hit, costUsd: 0, route }, cache: "HIT", rateLimit };
    }
    const answer = toolLoop
      ? await flow.router.chatWithTools(request, flow.maxSteps!, flow.signal)
      : await flow.router.chat(request, flow.signal);
    if (key) this.#keep(key, answer, flow.requestId);
    return { answer, cache: key ? "MISS" : "BYPASS", rateLimit };
  }

  /** A committed stream; failures before the commit are thrown as `LLMError`s. */
  async stream(flow: ChatFlowRequest): Promise<StreamedChat> {
    const { request, rateLimit, key, hit } = await this.#admit(flow, true);
    if (hit) {
      const route = cachedRoute(hit, request.useCase ?? "general");
      return { routed: replayedStream(hit, route), cache: "HIT", rateLimit };
    }
    const routed = await this.#streamDetached(flow.router, request, flow.signal);
    if (!key) return { routed, cache: "BYPASS", rateLimit };
    const collected = new StreamedAnswer();
    // Kept once the last event went through (also when a departed client's stream is drained).
    const events = observed(
      routed.events,
      (e) => collected.observe(e),
      () => {
        const answer = collected.answer();
        if (answer) this.#keep(key, answer, flow.requestId);
      },
    );
    return { routed: { ...routed, events }, cache: "MISS", rateLimit };
  }

  /**
   * The caller's token, the gate for the router's targets and the price
   * ceiling they must stay under, then the cache lookup.
   */
  async #admit(flow: ChatFlowRequest, cacheable: boolean): Promise<Admitted> {
    const admitted = await this.deps.guards.admit(flow.caller, {
      rateLimited: flow.rateLimited,
    });
    const { gate, rateLimit } = admitted;
    const maxPricePerMTok = tightestCeiling(
      flow.request.maxPricePerMTok,
      admitted.maxPricePerMTok,
    );
    const request: RouteRequest = {
      ...flow.request,
      ...(gate ? { gate } : {}),
      ...(maxPricePerMTok !== undefined ? { maxPricePerMTok } : {}),
    };
    const cache = this.deps.cache;
    const wanted = flow.cache ?? this.deps.cacheUseCases.has(request.useCase ?? "general");
    if (!cache || !wanted || !cacheable || flow.cacheScope === undefined) {
      return { request, rateLimit };
    }
    const key = await responseCacheKey(flow.cacheScope, request);
    const hit = await cache.get(key).catch(() => undefined);
    return { request, rateLimit, key, hit };
  }

  #keep(key: string, answer: LLMChatResponse, requestId: string): void {
    this.deps.waitUntil(
      this.deps.cache!.put(key, answer, this.deps.now()).catch((error) =>
        this.deps.log.warn("response_cache_write_failed", {
          requestId,
          detail: errorMessage(error),
        })
      ),
    );
  }

  /**
   * Opens the stream under a signal of its own: until the stream commits, the
   * caller leaving aborts it; after that, with LLM_ON_CLIENT_DISCONNECT=finish,
   * the upstream read goes on (the response body drains it) so the request's
   * usage and cost are still recorded.
   */
  async #streamDetached(
    router: LLMRouter,
    request: RouteRequest,
    callerSignal: AbortSignal,
  ): Promise<RoutedStream> {
    const upstream = new AbortController();
    const onCallerGone = () => upstream.abort(callerSignal.reason);
    if (callerSignal.aborted) onCallerGone();
    else callerSignal.addEventListener("abort", onCallerGone, { once: true });
    try {
      return await router.stream(request, upstream.signal);
    } finally {
      if (this.deps.onClientDisconnect === "finish") {
        callerSignal.removeEventListener("abort", onCallerGone);
      }
    }
  }
}

function cachedRoute(answer: LLMChatResponse, useCase: RouteOutcome["useCase"]): RouteOutcome {
  return {
    provider: answer.provider,
    model: answer.model,
    attempts: 0,
    fallbackIndex: 0,
    source: "cache",
    useCase,
    trimmedMessages: 0,
    upstreamMs: 0,
    waitedMs: 0,
  };
}

function replayedStream(answer: LLMChatResponse, route: RouteOutcome): RoutedStream {
  const events = replayEvents(answer);
  return {
    route,
    // A cached answer is whole: one batch, one write.
    events: batchedEvents((async function* () {
      yield [...events];
    })()),
    completion: Promise.resolve({
      ok: true,
      usage: answer.usage,
      finishReason: answer.finishReason,
      costUsd: 0,
    }),
    abort: () => {},
  };
}

/** `events` (in its batches), each event shown to `observe`, and `ended` told after the last. */
function observed(
  events: AsyncIterable<LLMStreamEvent>,
  observe: (event: LLMStreamEvent) => void,
  ended: () => void,
): EventBatches {
  return batchedEvents((async function* () {
    for await (const batch of batchesOf(events)) {
      for (const event of batch) observe(event);
      yield batch;
    }
    ended();
  })());
}
