/**
 * The OpenAI chat completions dialect (`/functions/v1/llm-router/v1`): point
 * the official `openai` SDK's `baseURL` at it and chat, streaming and tools
 * work unchanged. `model` is a catalog model (tried first, then its use
 * case's chain), `auto`, or `auto:<useCase>`.
 */
import type { ModelCatalog } from "../llm/catalog.ts";
import type { ChatDialect, NormalizedChat } from "./chat-dialect.ts";
import { type OpenAIChatBody, openAIChatBody } from "./openai-chat-schema.ts";
import { openAIChatRenderer, openAIErrorResponse } from "./openai-chat-render.ts";
import { isChatUseCase } from "./native-schema.ts";
import { messagesFromOpenAI, responseFormatFromOpenAI } from "./openai-wire.ts";
import { parseOrThrow } from "./parse.ts";
import { modelRoute, toolsAndChoice } from "./request-checks.ts";

/** The chat completions dialect. */
export const openAIChat: ChatDialect = {
  api: "openai",
  read(raw, { catalog, requestId, now }) {
    const body = parseOrThrow(openAIChatBody, raw);
    return {
      chat: openAIRequest(body, catalog),
      render: openAIChatRenderer({
        id: `chatcmpl-${requestId.replace(/[^A-Za-z0-9]/g, "").slice(0, 32)}`,
        created: Math.floor(now() / 1000),
        includeUsage: body.stream_options?.include_usage === true,
      }),
    };
  },
  errorResponse: openAIErrorResponse,
};

function openAIRequest(body: OpenAIChatBody, catalog: ModelCatalog): NormalizedChat {
  const useCase = isChatUseCase(body.use_case) ? body.use_case : undefined;
  return {
    route: {
      ...modelRoute(catalog, body.model, "model", useCase),
      agentId: body.agent_id,
      chat: {
        messages: messagesFromOpenAI(body.messages),
        maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
        temperature: body.temperature ?? undefined,
        topP: body.top_p ?? undefined,
        stop: body.stop == null
          ? undefined
          : typeof body.stop === "string"
          ? [body.stop]
          : body.stop,
        parallelToolCalls: body.parallel_tool_calls,
        responseFormat: body.response_format && responseFormatFromOpenAI(body.response_format),
        user: body.user,
        reasoning: body.reasoning_effort ? { effort: body.reasoning_effort } : undefined,
        ...toolsAndChoice(body.tools, body.tool_choice, "tool_choice"),
      },
    },
    stream: body.stream === true,
    accountId: body.account_id,
    cache: body.cache,
  };
}
