/**
 * One chat request through the gateway's guards, in order: the caller's rate
 * limit (refused before anything else costs), the response cache (a hit is
 * served without an upstream call and costs nothing), then the router, whose
 * targets each pass the budget and model-ceiling gate. A successful miss
 * fills the cache, a streamed one included.
 */
import type { UseCase } from "../_shared/llm/catalog.ts";
import type {
  LLMRouter,
  RoutedChat,
  RoutedStream,
  RouteOutcome,
  RouteRequest,
} from "../_shared/llm/router.ts";
import type { LLMChatResponse, LLMStreamEvent } from "../_shared/llm/types.ts";
import {
  type CacheStatus,
  replayEvents,
  responseCacheKey,
  StreamedAnswer,
} from "../_shared/guards/response-cache.ts";
import type { GuardedCaller, RateLimitStatus } from "../_shared/guards/gateway-guards.ts";
import type { RouterRequestContext } from "./context.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";

/** What to run. */
export interface ChatFlowRequest {
  request: RouteRequest;
  router: LLMRouter;
  caller: GuardedCaller;
  stream: boolean;
  /** The request's own cache choice; absent: its use case's setting. */
  cache?: boolean;
  /** More than 1 runs the router's tool loop (never cached). */
  maxSteps?: number;
}

/** How it was answered, with the caller's bucket after its token (for the `x-ratelimit-*` headers). */
export type ChatFlowResult =
  & (
    | { kind: "answer"; answer: RoutedChat & { steps?: number }; cache: CacheStatus }
    | { kind: "stream"; routed: RoutedStream; cache: CacheStatus }
  )
  & { rateLimit?: RateLimitStatus };

/** Runs `flow` for the request in `context`. */
export async function runChatFlow(
  context: RouterRequestContext,
  flow: ChatFlowRequest,
): Promise<ChatFlowResult> {
  const { world, signal } = context;
  const { gate, rateLimit } = await world.guards.admit(flow.caller);
  const request: RouteRequest = gate ? { ...flow.request, gate } : flow.request;
  const toolLoop = flow.maxSteps !== undefined && flow.maxSteps > 1;

  const useCase = request.useCase ?? "general";
  const wanted = flow.cache ?? world.guardEnv.responseCacheUseCases.has(useCase);
  const cache = world.responseCache;
  const key = cache && wanted && !toolLoop
    ? await responseCacheKey(cacheScope(context, flow.caller), request)
    : undefined;
  if (cache && key) {
    const hit = await cache.get(key).catch(() => undefined);
    if (hit) {
      const route = cachedRoute(hit, useCase as UseCase);
      return flow.stream
        ? { kind: "stream", routed: replayedStream(hit, route), cache: "HIT", rateLimit }
        : { kind: "answer", answer: { ...hit, costUsd: 0, route }, cache: "HIT", rateLimit };
    }
  }
  const status: CacheStatus = key ? "MISS" : "BYPASS";
  const keep = (answer: LLMChatResponse | undefined) => {
    if (!cache || !key || !answer) return;
    world.waitUntil(
      cache.put(key, answer, context.now()).catch((error) =>
        context.log.warn("response_cache_write_failed", {
          requestId: context.requestId,
          detail: errorMessage(error),
        })
      ),
    );
  };

  if (flow.stream) {
    const routed = await streamDetached(context, flow.router, request, signal);
    if (!key) return { kind: "stream", routed, cache: status, rateLimit };
    const collected = new StreamedAnswer();
    // Kept once the last event went through (also when a departed client's stream is drained).
    const events = observed(
      routed.events,
      (e) => collected.observe(e),
      () => keep(collected.answer()),
    );
    return { kind: "stream", routed: { ...routed, events }, cache: status, rateLimit };
  }
  const answer = toolLoop
    ? await flow.router.chatWithTools(request, flow.maxSteps!, signal)
    : await flow.router.chat(request, signal);
  keep(answer);
  return { kind: "answer", answer, cache: status, rateLimit };
}

/**
 * Opens the stream under a signal of its own: until the stream commits, the
 * caller leaving aborts it; after that, with LLM_ON_CLIENT_DISCONNECT=finish,
 * the upstream read goes on (the response body drains it) so the request's
 * usage and cost are still recorded.
 */
async function streamDetached(
  context: RouterRequestContext,
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
    if (context.world.guardEnv.onClientDisconnect === "finish") {
      callerSignal.removeEventListener("abort", onCallerGone);
    }
  }
}

/** Whose cache entries a request may see: its account, else the caller itself. */
function cacheScope(context: RouterRequestContext, caller: GuardedCaller): string {
  if (caller.accountId) return `acct:${caller.accountId}`;
  if (caller.userId) return `user:${caller.userId}`;
  return `${context.caller.kind}:-`;
}

function cachedRoute(answer: LLMChatResponse, useCase: UseCase): RouteOutcome {
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
    events: (async function* () {
      yield* events;
    })(),
    completion: Promise.resolve({
      ok: true,
      usage: answer.usage,
      finishReason: answer.finishReason,
      costUsd: 0,
    }),
    abort: () => {},
  };
}

async function* observed(
  events: AsyncIterable<LLMStreamEvent>,
  observe: (event: LLMStreamEvent) => void,
  ended: () => void,
): AsyncGenerator<LLMStreamEvent> {
  for await (const event of events) {
    observe(event);
    yield event;
  }
  ended();
}
