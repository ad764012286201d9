/**
 * The rest of the OpenAI-compatible API under `/functions/v1/llm-router/v1`
 * (chat completions is a dialect of the chat pipeline, `chat-routes.ts`):
 * embeddings, rate-limited, budgeted and recorded like chat, and the model
 * list. Errors in OpenAI's shape, so the official SDKs parse them.
 */
import { z } from "zod";
import { clipInput, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { openAIErrorResponse } from "../_shared/dialects/openai-chat-render.ts";
import { CHAT_USE_CASES, routingId } from "../_shared/dialects/native-schema.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import type { GatewayGuards } from "../_shared/guards/gateway-guards.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import type { WaitUntil } from "../_shared/runtime/background.ts";
import type { AccountRouters } from "./account-routers.ts";
import type { RequestContext } from "./context.ts";
import { checkEmbeddingInputs, type EmbeddingLimits } from "./embedding-limits.ts";
import { requireKeyAllows } from "./key-allowance.ts";
import { streamEmbeddings } from "./embedding-stream.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";
import type { RequestReports } from "./request-report.ts";
import { routeHeadersSince } from "./route-headers.ts";
import type { Route } from "./routes.ts";

/** `POST /v1/embeddings`. */
const embeddingsBody = z.object({
  model: z.string().min(1).max(200),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2_048)]),
  dimensions: z.int().min(1).max(10_000).optional(),
  encoding_format: z.enum(["float", "base64"]).optional(),
  user: z.string().max(256).optional(),
  account_id: routingId.optional(),
}).passthrough();

/** What the embeddings and model routes use. */
export interface OpenAIRoutesDeps {
  routers: AccountRouters;
  guards: GatewayGuards;
  embeddings: EmbeddingLimits;
  reports: RequestReports;
  waitUntil: WaitUntil;
}

/** `/v1/embeddings` and `/v1/models`. */
export function openAIRoutes(deps: OpenAIRoutesDeps): Route[] {
  // The model list's fixed part: the routing aliases, from the one list of use cases.
  const aliases = ["auto", ...CHAT_USE_CASES.map((useCase) => `auto:${useCase}`)];
  return [
    {
      method: "POST",
      pattern: "/v1/embeddings",
      handler: (request) => embeddings(deps, request),
      errors: openAIErrorResponse,
      gatewayKeys: true,
    },
    {
      method: "GET",
      pattern: "/v1/models",
      handler: (request) => models(deps, aliases, request),
      errors: openAIErrorResponse,
      gatewayKeys: true,
    },
  ];
}

/**
 * `POST /v1/embeddings`. The answer is streamed out one vector at a time
 * (`embedding-stream.ts`), so a request's memory does not grow with its answer.
 */
async function embeddings(deps: OpenAIRoutesDeps, request: RequestContext): Promise<Response> {
  const { signal, started, caller } = request;
  const body = parseOrThrow(embeddingsBody, request.body);
  const inputs = typeof body.input === "string" ? [body.input] : body.input;
  checkEmbeddingInputs(inputs, deps.embeddings);
  const modelOverride = body.model === "auto" ? undefined : body.model;
  if (modelOverride !== undefined) {
    const model = deps.routers.platform.catalog.get(modelOverride);
    if (!model?.capabilities.embeddings) {
      throw validationError("model", `${clipInput(modelOverride)} is not a known embedding model`);
    }
  }
  const access = await request.access(body.account_id);
  const key = caller.key;
  if (key) {
    await requireKeyAllows(key, {
      model: modelOverride,
      useCase: "embedding",
      routedUseCase: () => Promise.resolve("embedding"),
    });
  }
  const router = await deps.routers.forAccount(access.accountId);
  const reporter = deps.reports.start({
    requestId: request.requestId,
    api: "openai",
    caller: caller.kind,
    accountId: access.accountId,
    userId: caller.userId,
    useCase: "embedding",
    keyId: key?.id,
  }, started);
  let answer;
  let admitted;
  try {
    admitted = await deps.guards.admit({
      accountId: access.accountId,
      userId: caller.userId,
      key,
    });
    answer = await streamEmbeddings({
      router,
      inputs,
      dimensions: body.dimensions,
      modelOverride,
      accountId: access.accountId,
      gate: admitted.gate,
      maxPricePerMTok: admitted.maxPricePerMTok,
      base64: body.encoding_format === "base64",
      slots: deps.embeddings.slots,
      signal,
    });
  } catch (error) {
    if (error instanceof LLMError) reporter.failed(error, false);
    throw error;
  }
  const { route } = answer;
  deps.waitUntil(answer.end.then((end) => {
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

/**
 * `GET /v1/models`: `auto`, `auto:<useCase>`, and every catalog model whose
 * provider has a key (and, for a gateway key, that the key may use).
 */
async function models(
  deps: OpenAIRoutesDeps,
  aliases: readonly string[],
  request: RequestContext,
): Promise<Response> {
  const access = await request.access(undefined);
  const router = await deps.routers.forAccount(access.accountId);
  const available = new Set(router.availableProviders());
  // A gateway key is shown the models it may use, no others.
  const allowed = request.caller.key?.allowedModels;
  const created = 1_735_689_600;
  return jsonResponse({
    object: "list",
    data: [
      ...aliases.map((id) => ({ id, object: "model", created, owned_by: "llm-router" })),
      ...router.catalog.all().filter((m) =>
        available.has(m.provider) && (!allowed || allowed.includes(m.id))
      ).map((m) => ({
        id: m.id,
        object: "model",
        created,
        owned_by: m.provider,
      })),
    ],
  });
}
