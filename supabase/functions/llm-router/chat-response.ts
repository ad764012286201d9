/**
 * What both chat APIs (native and OpenAI-compatible) do around the chat
 * flow: run it, report the outcome (a failure included), and answer with
 * route, cache and rate-limit headers, as SSE or as JSON in the API's own
 * format.
 */
import { jsonResponse } from "../_shared/http/errors.ts";
import { SSE_HEADERS } from "../_shared/runtime/sse.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import type { RoutedChat, RoutedStream } from "../_shared/llm/router.ts";
import { type ChatFlowRequest, runChatFlow } from "./chat-flow.ts";
import type { RouterRequestContext } from "./context.ts";
import type { RequestReporter } from "./request-report.ts";
import { routeHeadersSince } from "./route-headers.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";
import { type EventEncoder, sseBody, streamOptions } from "./stream-writers.ts";

/** How an API renders an answer; `cached` is true for a response-cache hit. */
export interface ChatRendering {
  encoder(routed: RoutedStream, cached: boolean): EventEncoder;
  body(answer: RoutedChat & { steps?: number }, cached: boolean): unknown;
}

/** Runs `flow` and renders its answer; a router failure is reported, then rethrown. */
export async function chatResponse(
  context: RouterRequestContext,
  flow: ChatFlowRequest,
  reporter: RequestReporter,
  render: ChatRendering,
): Promise<Response> {
  try {
    const result = await runChatFlow(context, flow);
    const cached = result.cache === "HIT";
    const limits = rateLimitHeaders(result.rateLimit);
    if (result.kind === "stream") {
      const { routed } = result;
      const headers = routeHeadersSince(routed.route, context.started);
      reporter.streaming(routed, cached);
      return new Response(
        sseBody(routed, render.encoder(routed, cached), streamOptions(context)),
        { headers: { ...SSE_HEADERS, ...headers, ...limits, "x-llm-cache": result.cache } },
      );
    }
    const { answer } = result;
    const headers = routeHeadersSince(answer.route, context.started);
    reporter.answered(answer.route, answer.usage, answer.costUsd, cached);
    return jsonResponse(render.body(answer, cached), 200, {
      ...headers,
      ...limits,
      "x-llm-cache": result.cache,
    });
  } catch (error) {
    if (error instanceof LLMError) reporter.failed(error, flow.stream);
    throw error;
  }
}
