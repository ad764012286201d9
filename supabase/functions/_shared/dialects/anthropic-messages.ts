/**
 * The Anthropic Messages dialect (`POST /functions/v1/llm-router/v1/messages`):
 * point the official `@anthropic-ai/sdk`'s `baseURL` at llm-router and
 * `messages.create` and `messages.stream` work unchanged, whichever provider
 * serves. `model` is a catalog model (tried first, then its use case's
 * chain), `auto`, or `auto:<useCase>`.
 */
import type { ChatDialect } from "./chat-dialect.ts";
import { promptFromAnthropic } from "./anthropic-messages-read.ts";
import { anthropicErrorResponse, messageToAnthropic } from "./anthropic-messages-render.ts";
import { anthropicMessagesBody } from "./anthropic-messages-schema.ts";
import { AnthropicStreamWriter } from "./anthropic-messages-stream.ts";
import { parseOrThrow } from "./parse.ts";

/** The Messages dialect. */
export const anthropicMessages: ChatDialect = {
  api: "anthropic",
  read(raw, { catalog, requestId }) {
    const body = parseOrThrow(anthropicMessagesBody, raw);
    const { chat, ...route } = promptFromAnthropic(body, catalog);
    const id = `msg_${requestId.replace(/[^A-Za-z0-9]/g, "").slice(0, 32)}`;
    return {
      chat: {
        route: {
          ...route,
          agentId: body.agent_id,
          chat: {
            ...chat,
            maxTokens: body.max_tokens,
            temperature: body.temperature,
            topP: body.top_p,
            stop: body.stop_sequences?.length ? body.stop_sequences : undefined,
            user: body.metadata?.user_id ?? undefined,
          },
        },
        stream: body.stream === true,
        accountId: body.account_id,
        cache: body.cache,
      },
      render: {
        json: (answer) => messageToAnthropic(answer, id),
        stream: (served) => new AnthropicStreamWriter(id, served.model),
      },
    };
  },
  errorResponse: anthropicErrorResponse,
};
