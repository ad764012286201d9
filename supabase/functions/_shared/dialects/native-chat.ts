/**
 * The native dialect (`POST /functions/v1/llm-router`, and the payload of a
 * queued job): camelCase fields, OpenAI's messages and tools, a `prompt`
 * shorthand and a `systemPrompt` built into the one system message by the
 * PromptBuilder; `reasoning` asks a reasoning model for an effort or a
 * thinking budget. Answers are `{success, text, provider, model, toolCalls,
 * finishReason, usage, costUsd, reasoning?}`, streams `{"type": …}` events
 * (`reasoning` ones for the model's reasoning text) then `[DONE]`.
 */
import { errorResponse, validationError } from "../http/errors.ts";
import type { ModelCatalog } from "../llm/catalog.ts";
import { PromptBuilder } from "../llm/prompt.ts";
import type { LLMMessage } from "../llm/types.ts";
import type {
  ChatAnswer,
  ChatDialect,
  ChatRenderer,
  ChatStreamEvent,
  NormalizedChat,
  StreamRenderer,
} from "./chat-dialect.ts";
import {
  isChatUseCase,
  type NativeAnswer,
  type NativeChatBody,
  nativeChatBody,
  type NativeRoutedAnswer,
  type NativeStreamEvent,
} from "./native-schema.ts";
import {
  messagesFromOpenAI,
  reasoningTextOf,
  responseFormatFromOpenAI,
  toolCallsToOpenAI,
} from "./openai-wire.ts";
import { parseOrThrow } from "./parse.ts";
import { knownChatModel, toolsAndChoice } from "./request-checks.ts";
import { streamErrorEvent } from "./stream-error.ts";

/** The native dialect. */
export const nativeChat: ChatDialect = {
  api: "native",
  read: (body, { catalog }) => ({
    chat: nativeRequest(parseOrThrow(nativeChatBody, body), catalog),
    render: nativeRenderer,
  }),
  errorResponse: (error) => errorResponse(error),
};

/** The normalized request of a validated native body; a 400 for what the schema cannot say. */
function nativeRequest(body: NativeChatBody, catalog: ModelCatalog): NormalizedChat {
  if ((body.prompt === undefined) === (body.messages === undefined)) {
    throw validationError(
      body.prompt === undefined ? "messages" : "prompt",
      "send either prompt or messages, not both or neither",
    );
  }
  if (body.stream && body.maxSteps !== undefined && body.maxSteps > 1) {
    throw validationError("maxSteps", "maxSteps > 1 runs a tool loop and cannot stream");
  }
  const conversation: LLMMessage[] = body.prompt !== undefined
    ? [{ role: "user", content: body.prompt }]
    : messagesFromOpenAI(body.messages!);
  return {
    route: {
      useCase: isChatUseCase(body.useCase) ? body.useCase : undefined,
      tier: body.tier,
      agentId: body.agentId,
      modelOverride: body.modelOverride === undefined
        ? undefined
        : knownChatModel(catalog, body.modelOverride, "modelOverride"),
      summarizeTrimmed: body.summarizeTrimmed,
      chat: {
        // One system message, first: the systemPrompt, then the conversation's own system text.
        messages: new PromptBuilder().system(body.systemPrompt ?? "").toMessages(conversation),
        maxTokens: body.maxTokens,
        temperature: body.temperature,
        topP: body.topP,
        stop: body.stop,
        parallelToolCalls: body.parallelToolCalls,
        responseFormat: body.responseFormat && responseFormatFromOpenAI(body.responseFormat),
        reasoning: body.reasoning,
        ...toolsAndChoice(body.tools, body.toolChoice, "toolChoice"),
      },
    },
    stream: body.stream === true,
    accountId: body.accountId,
    cache: body.cache,
    maxSteps: body.maxSteps,
  };
}

/** A routed answer as the native API returns it and a job stores it (tool calls in OpenAI's format). */
export function nativeRoutedAnswer(answer: ChatAnswer): NativeRoutedAnswer {
  const reasoning = reasoningTextOf(answer.reasoning);
  return {
    text: answer.text,
    provider: answer.provider,
    model: answer.model,
    toolCalls: toolCallsToOpenAI(answer.toolCalls),
    finishReason: answer.finishReason,
    usage: answer.usage,
    costUsd: answer.costUsd,
    ...(reasoning ? { reasoning } : {}),
    ...(answer.steps !== undefined ? { steps: answer.steps } : {}),
  };
}

const data = (event: NativeStreamEvent) => `data: ${JSON.stringify(event)}\n\n`;

/** Native stream events (`NativeStreamEvent`), then `[DONE]`. */
const nativeStream: StreamRenderer = {
  event(event: ChatStreamEvent): string {
    switch (event.type) {
      case "start":
        return data({ type: "start", provider: event.provider, model: event.model });
      case "text-delta":
        return data({ type: "text", text: event.text });
      case "reasoning-delta":
        return data({ type: "reasoning", text: event.text });
      case "tool-call-delta": {
        const { type: _type, ...call } = event;
        return data({ type: "tool-call", ...call });
      }
      case "finish":
        return data({
          type: "finish",
          finishReason: event.finishReason,
          usage: event.usage,
          costUsd: event.costUsd,
        }) + "data: [DONE]\n\n";
      default:
        // Signatures and redacted thinking only matter to a caller that sends them back to
        // Claude, which native requests cannot.
        return "";
    }
  },
  error: streamErrorEvent,
};

const nativeRenderer: ChatRenderer = {
  json: (answer, cached): NativeAnswer => ({
    success: true,
    ...nativeRoutedAnswer(answer),
    ...(cached ? { cached: true } : {}),
  }),
  stream: () => nativeStream,
};
