/**
 * The ToolAdapter's outer face: OpenAI's wire format (messages with
 * `tool_calls` and `tool_call_id`, `tools`, `tool_choice`, usage) converted
 * to and from the shared types. Callers of both gateway APIs speak this one
 * format; each provider adapter maps the shared types to its own protocol.
 */
import type {
  LLMChatResponse,
  LLMContentPart,
  LLMFinishReason,
  LLMMessage,
  LLMTool,
  LLMToolCall,
  LLMToolChoice,
  LLMUsage,
} from "./types.ts";

/** An OpenAI content part as callers send it. */
export type OpenAIWirePart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string; detail?: "auto" | "low" | "high" } };

/** An OpenAI tool call on the wire. */
export interface OpenAIWireToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** An OpenAI chat message as callers send it (already schema-validated). */
export type OpenAIWireMessage =
  | { role: "system" | "developer"; content: string | { type: "text"; text: string }[] }
  | { role: "user"; content: string | OpenAIWirePart[] }
  | {
    role: "assistant";
    content?: string | null | { type: "text"; text: string }[];
    tool_calls?: OpenAIWireToolCall[];
  }
  | { role: "tool"; tool_call_id: string; content: string | { type: "text"; text: string }[] };

/** An OpenAI tool definition. */
export interface OpenAIWireTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

/** An OpenAI `tool_choice`. */
export type OpenAIWireToolChoice = "auto" | "none" | "required" | {
  type: "function";
  function: { name: string };
};

const joinText = (content: string | { type: "text"; text: string }[] | null | undefined): string =>
  typeof content === "string" ? content : (content ?? []).map((part) => part.text).join("");

/** OpenAI messages → shared messages (`developer` is treated as `system`). */
export function messagesFromOpenAI(messages: readonly OpenAIWireMessage[]): LLMMessage[] {
  return messages.map((message): LLMMessage => {
    switch (message.role) {
      case "system":
      case "developer":
        return { role: "system", content: joinText(message.content) };
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
        };
      }
      case "tool":
        return {
          role: "tool",
          toolCallId: message.tool_call_id,
          content: joinText(message.content),
        };
    }
  });
}

function partFromOpenAI(part: OpenAIWirePart): LLMContentPart {
  return part.type === "text" ? { type: "text", text: part.text } : {
    type: "image",
    url: part.image_url.url,
    ...(part.image_url.detail ? { detail: part.image_url.detail } : {}),
  };
}

/** OpenAI tools → shared tools. */
export function toolsFromOpenAI(tools: readonly OpenAIWireTool[]): LLMTool[] {
  return tools.map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description ? { description: tool.function.description } : {}),
    parameters: tool.function.parameters ?? { type: "object", properties: {} },
  }));
}

/** OpenAI `tool_choice` → shared tool choice. */
export function toolChoiceFromOpenAI(choice: OpenAIWireToolChoice): LLMToolChoice {
  return typeof choice === "string" ? choice : { name: choice.function.name };
}

/** Shared tool calls → OpenAI `tool_calls`. */
export function toolCallsToOpenAI(calls: readonly LLMToolCall[]): OpenAIWireToolCall[] {
  return calls.map((call) => ({
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: call.arguments },
  }));
}

/** Shared usage → OpenAI `usage`. */
export function usageToOpenAI(usage: LLMUsage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
  };
}

/** A finished answer as an OpenAI `chat.completion` object. */
export function chatCompletionToOpenAI(response: LLMChatResponse, id: string, created: number) {
  return {
    id,
    object: "chat.completion",
    created,
    model: response.model,
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: response.toolCalls.length > 0 && response.text === "" ? null : response.text,
        refusal: null,
        ...(response.toolCalls.length > 0
          ? { tool_calls: toolCallsToOpenAI(response.toolCalls) }
          : {}),
      },
      logprobs: null,
      finish_reason: response.finishReason satisfies LLMFinishReason,
    }],
    usage: usageToOpenAI(response.usage),
  };
}
