/**
 * The OpenAI-compatible API under `/functions/v1/llm-router/v1`: point the
 * official `openai` SDK's `baseURL` at it and chat (streaming and tools
 * included), embeddings and the model list work unchanged. `model` may be a
 * catalog model, `auto`, or `auto:<useCase>`.
 */
import { jsonResponse, validationError } from "../_shared/http/errors.ts";
import { chatCompletionToOpenAI } from "../_shared/llm/openai-wire.ts";
import { vectorToBase64 } from "./vectors.ts";
import { routeHeadersSince } from "./route-headers.ts";
import { fromOpenAIBody } from "./route-requests.ts";
import { openAIChatBody, openAIEmbeddingsBody } from "./schemas.ts";
import { openAIEncoder } from "./stream-writers.ts";
import { chatResponse } from "./chat-response.ts";
import { promptText } from "./prompt-text.ts";
import { parseOrThrow } from "./validation.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import type { RouterRequestContext } from "./context.ts";

/** `POST /v1/chat/completions`. */
export async function chatCompletions(context: RouterRequestContext): Promise<Response> {
  const { body: raw, requestId, caller, world } = context;
  const body = parseOrThrow(openAIChatBody, raw);
  const access = await context.access(body.account_id);
  const router = await context.routerFor(access.accountId);
  const request = fromOpenAIBody(body, access.accountId, router.catalog);
  const reporter = context.reporter({
    api: "openai",
    accountId: access.accountId,
    userId: caller.userId,
    agentId: body.agent_id,
    useCase: request.useCase,
    prompt: world.guardEnv.auditPrompts ? promptText(request.chat.messages) : undefined,
  });
  const id = `chatcmpl-${requestId.replace(/[^A-Za-z0-9]/g, "").slice(0, 32)}`;
  const created = Math.floor(Date.now() / 1000);
  return await chatResponse(
    context,
    {
      request,
      router,
      caller: { accountId: access.accountId, userId: caller.userId, agentId: body.agent_id },
      stream: body.stream === true,
      cache: body.cache,
    },
    reporter,
    {
      encoder: (routed) =>
        openAIEncoder(id, created, routed.route.model, body.stream_options?.include_usage === true),
      body: (answer) => chatCompletionToOpenAI(answer, id, created),
    },
  );
}

/** `POST /v1/embeddings`: rate-limited, budgeted and recorded like chat. */
export async function embeddings(context: RouterRequestContext): Promise<Response> {
  const { body: raw, signal, started, caller, world } = context;
  const body = parseOrThrow(openAIEmbeddingsBody, raw);
  const access = await context.access(body.account_id);
  const router = await context.routerFor(access.accountId);
  const modelOverride = body.model === "auto" ? undefined : body.model;
  if (modelOverride !== undefined) {
    const model = router.catalog.get(modelOverride);
    if (!model?.capabilities.embeddings) {
      throw validationError(
        "model",
        `${modelOverride.slice(0, 100)} is not a known embedding model`,
      );
    }
  }
  const reporter = context.reporter({
    api: "openai",
    accountId: access.accountId,
    userId: caller.userId,
    useCase: "embedding",
  });
  try {
    const gate = await world.guards.admit({ accountId: access.accountId, userId: caller.userId });
    const answer = await router.embed({
      input: typeof body.input === "string" ? [body.input] : body.input,
      dimensions: body.dimensions,
      modelOverride,
      accountId: access.accountId,
      gate,
    }, signal);
    reporter.answered(answer.route, {
      inputTokens: answer.usage.inputTokens,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
    }, answer.costUsd);
    const headers = routeHeadersSince(answer.route, started);
    const base64 = body.encoding_format === "base64";
    return jsonResponse(
      {
        object: "list",
        data: answer.embeddings.map((vector, index) => ({
          object: "embedding",
          index,
          embedding: base64 ? vectorToBase64(vector) : vector,
        })),
        model: answer.model,
        usage: { prompt_tokens: answer.usage.inputTokens, total_tokens: answer.usage.inputTokens },
      },
      200,
      headers,
    );
  } catch (error) {
    if (error instanceof LLMError) reporter.failed(error, false);
    throw error;
  }
}

/** `GET /v1/models`: `auto`, `auto:<useCase>`, and every catalog model whose provider has a key. */
export async function models(context: RouterRequestContext): Promise<Response> {
  const access = await context.access(undefined);
  const router = await context.routerFor(access.accountId);
  const available = new Set(router.availableProviders());
  const created = 1_735_689_600;
  const routed = [
    "auto",
    "auto:draft",
    "auto:summary",
    "auto:complex",
    "auto:vision",
    "auto:general",
    "auto:voice",
  ];
  return jsonResponse({
    object: "list",
    data: [
      ...routed.map((id) => ({ id, object: "model", created, owned_by: "llm-router" })),
      ...router.catalog.all().filter((m) => available.has(m.provider)).map((m) => ({
        id: m.id,
        object: "model",
        created,
        owned_by: m.provider,
      })),
    ],
  });
}
