/**
 * The OpenAI-compatible API under `/functions/v1/llm-router/v1`: point the
 * official `openai` SDK's `baseURL` at it and chat (streaming and tools
 * included), embeddings and the model list work unchanged. `model` may be a
 * catalog model, `auto`, or `auto:<useCase>`.
 */
import { clipInput, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { chatCompletionToOpenAI } from "../_shared/llm/openai-wire.ts";
import { checkEmbeddingInputs } from "./embedding-limits.ts";
import { streamEmbeddings } from "./embedding-stream.ts";
import { routeHeadersSince } from "./route-headers.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";
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

/**
 * `POST /v1/embeddings`: rate-limited, budgeted and recorded like chat. The
 * answer is streamed out one vector at a time (`embedding-stream.ts`), so a
 * request's memory does not grow with its answer.
 */
export async function embeddings(context: RouterRequestContext): Promise<Response> {
  const { body: raw, signal, started, caller, world } = context;
  const body = parseOrThrow(openAIEmbeddingsBody, raw);
  const inputs = typeof body.input === "string" ? [body.input] : body.input;
  checkEmbeddingInputs(inputs, world.embeddings);
  const access = await context.access(body.account_id);
  const router = await context.routerFor(access.accountId);
  const modelOverride = body.model === "auto" ? undefined : body.model;
  if (modelOverride !== undefined) {
    const model = router.catalog.get(modelOverride);
    if (!model?.capabilities.embeddings) {
      throw validationError("model", `${clipInput(modelOverride)} is not a known embedding model`);
    }
  }
  const reporter = context.reporter({
    api: "openai",
    accountId: access.accountId,
    userId: caller.userId,
    useCase: "embedding",
  });
  let answer;
  let admitted;
  try {
    admitted = await world.guards.admit({ accountId: access.accountId, userId: caller.userId });
    const { gate } = admitted;
    answer = await streamEmbeddings({
      router,
      inputs,
      dimensions: body.dimensions,
      modelOverride,
      accountId: access.accountId,
      gate,
      base64: body.encoding_format === "base64",
      slots: world.embeddings.slots,
      signal,
    });
  } catch (error) {
    if (error instanceof LLMError) reporter.failed(error, false);
    throw error;
  }
  const { route } = answer;
  world.waitUntil(answer.end.then((end) => {
    if (!end.ok) return reporter.failed(end.error, true);
    reporter.answered(route, {
      inputTokens: end.inputTokens,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
    }, end.costUsd);
  }));
  return new Response(answer.body, {
    status: 200,
    headers: {
      "content-type": "application/json; charset=utf-8",
      ...routeHeadersSince(route, started),
      ...rateLimitHeaders(admitted.rateLimit),
    },
  });
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
