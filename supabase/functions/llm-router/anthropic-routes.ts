/**
 * Anthropic's Messages API under `/functions/v1/llm-router`:
 * `POST /v1/messages`, the Messages dialect in front of the one chat
 * pipeline (guards, routing, budgets and records as for every entrance), and
 * `POST /v1/messages/count_tokens`. Errors in Anthropic's shape, so the
 * official SDK raises its typed errors with the gateway's code.
 */
import { HttpError, jsonResponse } from "../_shared/http/errors.ts";
import { anthropicMessages } from "../_shared/dialects/anthropic-messages.ts";
import { promptFromAnthropic } from "../_shared/dialects/anthropic-messages-read.ts";
import { anthropicErrorResponse } from "../_shared/dialects/anthropic-messages-render.ts";
import { anthropicCountTokensBody } from "../_shared/dialects/anthropic-messages-schema.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import { TokenBudgetManager } from "../_shared/llm/tokens.ts";
import { loadGptTokenizer } from "../_shared/tokenizer/gpt-tokenizer.ts";
import type { AccountRouters } from "./account-routers.ts";
import type { ChatPipeline } from "./chat-pipeline.ts";
import type { RequestContext } from "./context.ts";
import type { Route } from "./routes.ts";

/** What the Messages routes use. */
export interface AnthropicRoutesDeps {
  pipeline: ChatPipeline;
  routers: AccountRouters;
  /** Counts prompts for count_tokens; by default gpt-tokenizer's, loaded on first use. */
  tokens?: TokenBudgetManager;
}

/** `/v1/messages` and `/v1/messages/count_tokens`. */
export function anthropicRoutes(deps: AnthropicRoutesDeps): Route[] {
  const tokens = deps.tokens ?? new TokenBudgetManager({ loadEncoder: loadGptTokenizer });
  return [
    {
      method: "POST",
      pattern: "/v1/messages",
      handler: (request) => deps.pipeline.respond(anthropicMessages, request),
      errors: anthropicErrorResponse,
      gatewayKeys: true,
    },
    {
      method: "POST",
      pattern: "/v1/messages/count_tokens",
      handler: (request) => countTokens(deps.routers, tokens, request),
      errors: anthropicErrorResponse,
      gatewayKeys: true,
    },
  ];
}

/**
 * `POST /v1/messages/count_tokens`: the prompt's input tokens on the model
 * that would be tried first (the named one, or the head of the route `auto`
 * takes), counted by the gateway's tokenizer as the router counts for
 * trimming: exact for OpenAI models, an upper bound for others (Claude's
 * tokenizer is not public). No provider is called and nothing is billed.
 */
async function countTokens(
  routers: AccountRouters,
  tokens: TokenBudgetManager,
  request: RequestContext,
): Promise<Response> {
  const router = routers.platform;
  const body = parseOrThrow(anthropicCountTokensBody, request.body);
  const { chat, useCase, modelOverride } = promptFromAnthropic(body, router.catalog);
  const { accountId } = await request.access(body.account_id);
  const { models } = await router.candidates({
    useCase,
    modelOverride,
    agentId: body.agent_id,
    accountId,
  });
  const model = models.map((id) => router.catalog.get(id)).find((m) => m?.capabilities.chat);
  if (!model) {
    throw new HttpError(503, "NO_PROVIDER", "The route names no chat model to count tokens for");
  }
  const inputTokens = await tokens.countMessages(chat.messages, model, chat.tools);
  return jsonResponse({ input_tokens: inputTokens });
}
