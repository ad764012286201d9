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
import { nativeEncoder, sseBody, streamOptions } from "./stream-writers.ts";
import { runChatFlow } from "./chat-flow.ts";
import { promptText } from "./prompt-text.ts";
import type { LLMUsage } from "../_shared/llm/types.ts";
import { parseOrThrow } from "./validation.ts";

/** Handles one native chat request. */
export async function nativeChat(context: RouterRequestContext): Promise<Response> {
  const { caller, body: raw, started, world } = context;
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
    prompt: world.guardEnv.auditPrompts ? promptText(request.chat.messages) : undefined,
  });
  const toolLoop = body.maxSteps !== undefined && body.maxSteps > 1;
  try {
    if (body.stream && toolLoop) {
      throw new LLMError("VALIDATION_ERROR", "maxSteps > 1 runs a tool loop and cannot stream", {
        details: { field: "maxSteps" },
      });
    }
    const result = await runChatFlow(context, {
      request,
      router,
      caller: { accountId: access.accountId, userId: caller.userId, agentId: body.agentId },
      stream: body.stream === true,
      cache: body.cache,
      maxSteps: body.maxSteps,
    });
    const cached = result.cache === "HIT";
    if (result.kind === "stream") {
      const { routed } = result;
      const headers = routeHeadersSince(routed.route, started);
      reporter.streaming(routed, cached);
      const model = router.catalog.get(routed.route.model);
      const price = (usage: LLMUsage) => cached || !model ? 0 : costOf(model, usage);
      return new Response(sseBody(routed, nativeEncoder(price), streamOptions(context)), {
        headers: { ...SSE_HEADERS, ...headers, "x-llm-cache": result.cache },
      });
    }
    const { answer } = result;
    const headers = routeHeadersSince(answer.route, started);
    reporter.answered(answer.route, answer.usage, answer.costUsd, cached);
    return jsonResponse(
      { success: true, ...answerBody(answer), ...(cached ? { cached: true } : {}) },
      200,
      { ...headers, "x-llm-cache": result.cache },
    );
  } catch (error) {
    if (error instanceof LLMError) {
      reporter.failed(error, body.stream === true);
      throw httpErrorFrom(error);
    }
    throw error;
  }
}
