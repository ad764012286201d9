/**
 * OpenAI's wire format (messages with `tool_calls` and `tool_call_id`,
 * `tools`, `tool_choice`, `response_format`, usage, the `chat.completion`
 * object) converted to and from the gateway's own types. What callers send is
 * typed by the zod schemas that validate it (`wire-schema.ts`), what we answer
 * by the openai SDK's own types, so neither shape is written out twice. Both
 * chat entrances take OpenAI's messages and tools; each provider adapter maps
 * the gateway's types to its own protocol.
 */
import type {
  ChatCompletion,
  ChatCompletionMessageFunctionToolCall,
} from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type {
  LLMChatResponse,
  LLMContentPart,
  LLMMessage,
  LLMReasoningPart,
  LLMResponseFormat,
  LLMTool,
  LLMToolCall,
  LLMToolChoice,
  LLMUsage,
} from "../llm/types.ts";
import { lastMarkOf, marked } from "./cache-marker.ts";
import type { WireMessage, WireResponseFormat, WireTool, WireToolChoice } from "./wire-schema.ts";

type TextContent =
  | string
  | readonly { type: "text"; text: string; cache_control?: WireCacheMark }[]
  | null
  | undefined;
type WireCacheMark = { type: "ephemeral"; ttl?: "5m" | "1h" } | null;
type UserPart = Exclude<Extract<WireMessage, { role: "user" }>["content"], string>[number];

const joinText = (content: TextContent): string =>
  typeof content === "string" ? content : (content ?? []).map((part) => part.text).join("");

/** OpenAI messages → the gateway's messages (`developer` is treated as `system`). */
export function messagesFromOpenAI(messages: readonly WireMessage[]): LLMMessage[] {
  return messages.map((message): LLMMessage => {
    switch (message.role) {
      case "system":
      case "developer":
        return {
          role: "system",
          content: joinText(message.content),
          ...lastMarkOf(message.content),
        };
      case "user":
        return {
          role: "user",
          content: typeof message.content === "string"
            ? message.content
            : message.content.map(partFromOpenAI),
        };
      case "assistant": {
        const text = joinText(message.content);
        const toolCalls = message.tool_calls?.map((call) => ({
          id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        }));
        return {
          role: "assistant",
          content: text === "" && toolCalls?.length ? null : text,
          ...(toolCalls?.length ? { toolCalls } : {}),
          ...lastMarkOf(message.content),
        };
      }
      case "tool":
        return {
          role: "tool",
          toolCallId: message.tool_call_id,
          content: joinText(message.content),
          ...lastMarkOf(message.content),
        };
    }
  });
}

function partFromOpenAI(part: UserPart): LLMContentPart {
  return part.type === "text" ? { type: "text", text: part.text, ...marked(part) } : {
    type: "image",
    url: part.image_url.url,
    ...(part.image_url.detail ? { detail: part.image_url.detail } : {}),
    ...marked(part),
  };
}

/** OpenAI tools → the gateway's tools. */
export function toolsFromOpenAI(tools: readonly WireTool[]): LLMTool[] {
  return tools.map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description ? { description: tool.function.description } : {}),
    parameters: tool.function.parameters ?? { type: "object", properties: {} },
  }));
}

/** OpenAI `tool_choice` → the gateway's tool choice. */
export function toolChoiceFromOpenAI(choice: WireToolChoice): LLMToolChoice {
  return typeof choice === "string" ? choice : { name: choice.function.name };
}

/** OpenAI `response_format` → the gateway's output format. */
export function responseFormatFromOpenAI(format: WireResponseFormat): LLMResponseFormat {
  if (format.type !== "json_schema") return { type: format.type };
  return {
    type: "json_schema",
    name: format.json_schema.name,
    schema: format.json_schema.schema,
    ...(format.json_schema.strict ? { strict: true } : {}),
  };
}

/** The gateway's tool calls → OpenAI `tool_calls`. */
export function toolCallsToOpenAI(
  calls: readonly LLMToolCall[],
): ChatCompletionMessageFunctionToolCall[] {
  return calls.map((call) => ({
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: call.arguments },
  }));
}

/** The gateway's usage → OpenAI `usage` (reasoning tokens inside the completion tokens, as OpenAI counts them). */
export function usageToOpenAI(usage: LLMUsage): CompletionUsage {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

/** The text of the model's reasoning parts, joined (redacted parts have none); "" for none. */
export function reasoningTextOf(parts: readonly LLMReasoningPart[] | undefined): string {
  return (parts ?? []).map((part) => part.type === "thinking" ? part.text : "").join("");
}

/** A finished answer as an OpenAI `chat.completion` object. */
export function chatCompletionToOpenAI(
  response: LLMChatResponse,
  id: string,
  created: number,
): ChatCompletion {
  const calls = response.toolCalls.length > 0;
  // Not in OpenAI's own answers: `reasoning_content` as DeepSeek and vLLM return it.
  const reasoning = reasoningTextOf(response.reasoning);
  return {
    id,
    object: "chat.completion",
    created,
    model: response.model,
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: calls && response.text === "" ? null : response.text,
        refusal: null,
        ...(reasoning ? { reasoning_content: reasoning } : {}),
        ...(calls ? { tool_calls: toolCallsToOpenAI(response.toolCalls) } : {}),
      },
      logprobs: null,
      finish_reason: response.finishReason,
    }],
    usage: usageToOpenAI(response.usage),
  };
}
