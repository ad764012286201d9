/**
 * The OpenAI-compatible API under `/functions/v1/llm-router/v1`: point the
 * official `openai` SDK's `baseURL` at it and chat (streaming and tools
 * included), embeddings and the model list work unchanged. `model` may be a
 * catalog model, `auto`, or `auto:<useCase>`.
 */
import { jsonResponse } from "../_shared/http/errors.ts";
import { SSE_HEADERS } from "../_shared/http/sse.ts";
import { chatCompletionToOpenAI } from "../_shared/llm/openai-wire.ts";
import { vectorToBase64 } from "./vectors.ts";
import { routeHeadersSince } from "./route-headers.ts";
import { fromOpenAIBody } from "./route-requests.ts";
import { openAIChatBody, openAIEmbeddingsBody } from "./schemas.ts";
import { openAIEncoder, sseBody } from "./stream-writers.ts";
import { parseOrThrow } from "./validation.ts";
import { logRouted, logWhenStreamEnds } from "./request-log.ts";
import { validationError } from "../_shared/http/errors.ts";
import type { RouterRequestContext } from "./context.ts";

/** `POST /v1/chat/completions`. */
export async function chatCompletions(context: RouterRequestContext): Promise<Response> {
  const { router, body: raw, signal, started, requestId, log, caller } = context;
  const body = parseOrThrow(openAIChatBody, raw);
  const request = fromOpenAIBody(body, context.accountFor(body.account_id), router.catalog);
  const logBase = { requestId, api: "openai" as const, caller: caller.kind };
  const id = `chatcmpl-${requestId.replace(/[^A-Za-z0-9]/g, "").slice(0, 32)}`;
  const created = Math.floor(Date.now() / 1000);
  if (body.stream) {
    const routed = await router.stream(request, signal);
    const headers = routeHeadersSince(routed.route, started);
    logWhenStreamEnds(log, logBase, routed);
    const encoder = openAIEncoder(
      id,
      created,
      routed.route.model,
      body.stream_options?.include_usage === true,
    );
    return new Response(sseBody(routed, encoder), {
      headers: { ...SSE_HEADERS, ...headers },
    });
  }
  const answer = await router.chat(request, signal);
  const headers = routeHeadersSince(answer.route, started);
  logRouted(log, logBase, false, answer.route, {
    code: "ok",
    usage: answer.usage,
    costUsd: answer.costUsd,
  });
  return jsonResponse(
    chatCompletionToOpenAI(answer, id, created),
    200,
    headers,
  );
}

/** `POST /v1/embeddings`. */
export async function embeddings(context: RouterRequestContext): Promise<Response> {
  const { router, body: raw, signal, started } = context;
  const body = parseOrThrow(openAIEmbeddingsBody, raw);
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
  const answer = await router.embed({
    input: typeof body.input === "string" ? [body.input] : body.input,
    dimensions: body.dimensions,
    modelOverride,
    accountId: context.accountFor(body.account_id),
  }, signal);
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
}

/** `GET /v1/models`: `auto`, `auto:<useCase>`, and every catalog model whose provider has a key. */
export function models(context: RouterRequestContext): Response {
  const available = new Set(context.router.availableProviders());
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
      ...context.router.catalog.all().filter((m) => available.has(m.provider)).map((m) => ({
        id: m.id,
        object: "model",
        created,
        owned_by: m.provider,
      })),
    ],
  });
}
