/**
 * `POST /functions/v1/llm-router`: the native API. JSON in; JSON
 * `{success, text, provider, model, toolCalls, finishReason, usage, costUsd}`
 * or, with `stream: true`, server-sent events of `{type: …}` objects.
 */
import { jsonResponse } from "../_shared/http/errors.ts";
import { SSE_HEADERS } from "../_shared/http/sse.ts";
import { costOf } from "../_shared/llm/catalog.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { answerBody } from "./answer-body.ts";
import type { RouterRequestContext } from "./context.ts";
import { httpErrorFrom } from "./errors.ts";
import { routeHeadersSince } from "./route-headers.ts";
import { fromNativeBody } from "./route-requests.ts";
import { nativeChatBody } from "./schemas.ts";
import { nativeEncoder, sseBody } from "./stream-writers.ts";
import { parseOrThrow } from "./validation.ts";

/** Handles one native chat request. */
export async function nativeChat(context: RouterRequestContext): Promise<Response> {
  const { caller, body: raw, signal, started } = context;
  const body = parseOrThrow(nativeChatBody, raw);
  const access = await context.access(body.accountId);
  const router = await context.routerFor(access.accountId);
  const request = fromNativeBody(body, access.accountId, router.catalog);
  const reporter = context.reporter({
    api: "native",
    accountId: access.accountId,
    userId: caller.userId,
    agentId: body.agentId,
    useCase: body.useCase,
  });
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
      reporter.streaming(routed);
      const model = router.catalog.get(routed.route.model)!;
      return new Response(sseBody(routed, nativeEncoder((usage) => costOf(model, usage))), {
        headers: { ...SSE_HEADERS, ...headers },
      });
    }
    const answer = toolLoop
      ? await router.chatWithTools(request, body.maxSteps!, signal)
      : await router.chat(request, signal);
    const headers = routeHeadersSince(answer.route, started);
    reporter.answered(answer.route, answer.usage, answer.costUsd);
    return jsonResponse(
      { success: true, ...answerBody(answer) },
      200,
      headers,
    );
  } catch (error) {
    if (error instanceof LLMError) {
      reporter.failed(error, body.stream === true);
      throw httpErrorFrom(error);
    }
    throw error;
  }
}
