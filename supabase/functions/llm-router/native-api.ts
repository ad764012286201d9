/**
 * `POST /functions/v1/llm-router`: the native API. JSON in; JSON
 * `{success, text, provider, model, toolCalls, finishReason, usage, costUsd}`
 * or, with `stream: true`, server-sent events of `{type: …}` objects.
 */
import { jsonResponse } from "../_shared/http/errors.ts";
import { SSE_HEADERS } from "../_shared/http/sse.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { toolCallsToOpenAI } from "../_shared/llm/openai-wire.ts";
import { httpErrorFrom } from "./errors.ts";
import { nativeEncoder, sseBody } from "./stream-writers.ts";
import { routeHeaders } from "./route-headers.ts";
import { fromNativeBody } from "./route-requests.ts";
import { nativeChatBody } from "./schemas.ts";
import { parseOrThrow } from "./validation.ts";
import type { RouterRequestContext } from "./context.ts";

/** Handles one native chat request. */
export async function nativeChat(context: RouterRequestContext): Promise<Response> {
  const { router, caller, body: raw, signal, started, log, requestId } = context;
  const body = parseOrThrow(nativeChatBody, raw);
  const request = fromNativeBody(body, context.accountFor(body.accountId), router.catalog);
  try {
    if (body.stream) {
      if (body.maxSteps && body.maxSteps > 1) {
        throw new LLMError("VALIDATION_ERROR", "maxSteps > 1 runs a tool loop and cannot stream", {
          details: { field: "maxSteps" },
        });
      }
      const routed = await router.stream(request, signal);
      const overhead = performance.now() - started - routed.route.upstreamMs -
        routed.route.waitedMs;
      let cost: number | undefined;
      routed.completion.then((end) => {
        if (end.ok) cost = end.costUsd;
        log.info("llm_request", {
          requestId,
          stream: true,
          caller: caller.kind,
          provider: routed.route.provider,
          model: routed.route.model,
          attempts: routed.route.attempts,
          outcome: end.ok ? "ok" : end.error.code,
          inputTokens: end.ok ? end.usage.inputTokens : undefined,
          outputTokens: end.ok ? end.usage.outputTokens : undefined,
          costUsd: end.ok ? end.costUsd : undefined,
        });
      });
      return new Response(sseBody(routed, nativeEncoder(() => cost)), {
        headers: { ...SSE_HEADERS, ...routeHeaders(routed.route, overhead) },
      });
    }
    const answer = body.maxSteps && body.maxSteps > 1
      ? await router.chatWithTools(request, body.maxSteps, signal)
      : await router.chat(request, signal);
    const route = answer.route!;
    const overhead = performance.now() - started - route.upstreamMs - route.waitedMs;
    log.info("llm_request", {
      requestId,
      stream: false,
      caller: caller.kind,
      provider: route.provider,
      model: route.model,
      attempts: route.attempts,
      outcome: "ok",
      inputTokens: answer.usage.inputTokens,
      outputTokens: answer.usage.outputTokens,
    });
    return jsonResponse(
      {
        success: true,
        text: answer.text,
        provider: answer.provider,
        model: answer.model,
        toolCalls: toolCallsToOpenAI(answer.toolCalls),
        finishReason: answer.finishReason,
        usage: answer.usage,
        costUsd: "costUsd" in answer ? answer.costUsd : undefined,
        ...("steps" in answer ? { steps: answer.steps } : {}),
      },
      200,
      routeHeaders(route, overhead),
    );
  } catch (error) {
    if (error instanceof LLMError) {
      log.warn("llm_request_failed", {
        requestId,
        code: error.code,
        provider: error.provider,
        detail: error.message,
      });
      throw httpErrorFrom(error);
    }
    throw error;
  }
}
