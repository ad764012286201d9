/**
 * `POST /functions/v1/llm-router`: the native API. JSON in; JSON
 * `{success, text, provider, model, toolCalls, finishReason, usage, costUsd}`
 * or, with `stream: true`, server-sent events of `{type: …}` objects.
 */
import type { NativeAnswer } from "../_shared/dialects/native-schema.ts";
import { validationError } from "../_shared/http/errors.ts";
import { costOf } from "../_shared/llm/catalog.ts";
import { answerBody } from "./answer-body.ts";
import { chatResponse } from "./chat-response.ts";
import type { RouterRequestContext } from "./context.ts";
import { fromNativeBody } from "./route-requests.ts";
import { nativeChatBody } from "./schemas.ts";
import { nativeEncoder } from "./stream-writers.ts";
import { promptText } from "./prompt-text.ts";
import { parseOrThrow } from "./validation.ts";

/** Handles one native chat request. */
export async function nativeChat(context: RouterRequestContext): Promise<Response> {
  const { caller, body: raw, world } = context;
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
  if (body.stream && body.maxSteps !== undefined && body.maxSteps > 1) {
    throw validationError("maxSteps", "maxSteps > 1 runs a tool loop and cannot stream");
  }
  return await chatResponse(
    context,
    {
      request,
      router,
      caller: { accountId: access.accountId, userId: caller.userId, agentId: body.agentId },
      stream: body.stream === true,
      cache: body.cache,
      maxSteps: body.maxSteps,
    },
    reporter,
    {
      encoder: (routed, cached) => {
        const model = router.catalog.get(routed.route.model);
        return nativeEncoder((usage) => cached || !model ? 0 : costOf(model, usage));
      },
      body: (answer, cached): NativeAnswer => ({
        success: true,
        ...answerBody(answer),
        ...(cached ? { cached: true } : {}),
      }),
    },
  );
}
