/**
 * `POST /functions/v1/llm-router`: the native API. JSON in; JSON
 * `{success, text, provider, model, toolCalls, finishReason, usage, costUsd}`
 * or, with `stream: true`, server-sent events of `{type: …}` objects.
 */
import { jsonResponse } from "../_shared/http/errors.ts";
import { SSE_HEADERS } from "../_shared/http/sse.ts";
import { costOf } from "../_shared/llm/catalog.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { toolCallsToOpenAI } from "../_shared/llm/openai-wire.ts";
import type { RouterRequestContext } from "./context.ts";
import { httpErrorFrom } from "./errors.ts";
import { logRouted, logWhenStreamEnds } from "./request-log.ts";
import { routeHeadersSince } from "./route-headers.ts";
import { fromNativeBody } from "./route-requests.ts";
import { nativeChatBody } from "./schemas.ts";
import { nativeEncoder, sseBody } from "./stream-writers.ts";
import { parseOrThrow } from "./validation.ts";

/** Handles one native chat request. */
export async function nativeChat(context: RouterRequestContext): Promise<Response> {
  const { router, caller, body: raw, signal, started, log, requestId } = context;
  const body = parseOrThrow(nativeChatBody, raw);
  const request = fromNativeBody(body, context.accountFor(body.accountId), router.catalog);
  const logBase = { requestId, api: "native" as const, caller: caller.kind };
  const toolLoop = body.maxSteps !== undefined && body.maxSteps > 1;
  try {
    if (body.stream) {
      if (toolLoop) {
        throw new LLMError("VALIDATION_ERROR", "maxSteps > 1 runs a tool loop and cannot stream", {
          details: { field: "maxSteps" },
        });
      }
      const routed = await router.stream(request, signal);
      const headers = routeHeadersSince(routed.route, started);
      logWhenStreamEnds(log, logBase, routed);
      const model = router.catalog.get(routed.route.model)!;
      return new Response(sseBody(routed, nativeEncoder((usage) => costOf(model, usage))), {
        headers: { ...SSE_HEADERS, ...headers },
      });
    }
    const answer = toolLoop
      ? await router.chatWithTools(request, body.maxSteps!, signal)
      : await router.chat(request, signal);
    const headers = routeHeadersSince(answer.route, started);
    logRouted(log, logBase, false, answer.route, {
      code: "ok",
      usage: answer.usage,
      costUsd: answer.costUsd,
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
        costUsd: answer.costUsd,
        ...("steps" in answer ? { steps: answer.steps } : {}),
      },
      200,
      headers,
    );
  } catch (error) {
    if (error instanceof LLMError) {
      log.warn("llm_request_failed", {
        ...logBase,
        code: error.code,
        provider: error.provider,
        detail: error.message,
      });
      throw httpErrorFrom(error);
    }
    throw error;
  }
}
