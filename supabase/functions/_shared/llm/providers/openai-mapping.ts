/**
 * Shared types ⇄ OpenAI Chat Completions wire shapes, for every
 * OpenAI-compatible provider. Provider differences come in as quirks, never
 * as provider names.
 */
import type {
  ChatCompletion,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMFinishReason,
  LLMMessage,
  LLMToolCall,
  LLMToolChoice,
  LLMUsage,
} from "../types.ts";
import type { OpenAICompatibleQuirks } from "./provider.ts";

/** Chat Completions parameters for `request`, without the streaming fields (a stream adds them). */
export function toOpenAIParams(
  request: LLMChatRequest,
  model: string,
  quirks: OpenAICompatibleQuirks,
): ChatCompletionCreateParamsBase {
  const params: ChatCompletionCreateParamsBase = {
    model,
    messages: request.messages.map(toOpenAIMessage),
  };
  const tools = request.tools ?? [];
  // Providers reject tool_choice and parallel_tool_calls when no tools are sent.
  if (tools.length > 0) {
    params.tools = tools.map((tool): ChatCompletionTool => ({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        parameters: tool.parameters,
      },
    }));
    if (request.toolChoice !== undefined) {
      params.tool_choice = toOpenAIToolChoice(request.toolChoice);
    }
    if (quirks.parallelToolCallsParam && request.parallelToolCalls !== undefined) {
      params.parallel_tool_calls = request.parallelToolCalls;
    }
  }
  if (request.maxTokens !== undefined) params[quirks.maxTokensField] = request.maxTokens;
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.topP !== undefined) params.top_p = request.topP;
  if (request.stop !== undefined && request.stop.length > 0) params.stop = request.stop;
  if (request.user !== undefined) params.user = request.user;
  // The planner sends an effort only to models that take one, at a level they accept.
  if (request.reasoning?.effort !== undefined) params.reasoning_effort = request.reasoning.effort;
  const format = request.responseFormat;
  if (format?.type === "json_object") params.response_format = { type: "json_object" };
  if (format?.type === "json_schema") {
    params.response_format = {
      type: "json_schema",
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.strict !== undefined ? { strict: format.strict } : {}),
      },
    };
  }
  return params;
}

function toOpenAIMessage(message: LLMMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content };
    case "user":
      return {
        role: "user",
        content: typeof message.content === "string"
          ? message.content
          : message.content.map((part): ChatCompletionContentPart =>
            part.type === "text" ? { type: "text", text: part.text } : {
              type: "image_url",
              image_url: { url: part.url, ...(part.detail ? { detail: part.detail } : {}) },
            }
          ),
      };
    case "assistant": {
      // Reasoning is not sent back: OpenAI keeps its own, DeepSeek rejects `reasoning_content` in input.
      const calls = message.toolCalls ?? [];
      return {
        role: "assistant",
        content: message.content,
        // Some compatible servers reject an empty tool_calls array.
        ...(calls.length > 0
          ? {
            tool_calls: calls.map((call) => ({
              id: call.id,
              type: "function" as const,
              function: { name: call.name, arguments: call.arguments },
            })),
          }
          : {}),
      };
    }
    case "tool":
      return {
        role: "tool",
        tool_call_id: message.toolCallId,
        // Chat completions has no error flag for a tool result: the words carry it.
        content: message.isError ? `Error: ${message.content}` : message.content,
      };
  }
}

function toOpenAIToolChoice(choice: LLMToolChoice): ChatCompletionToolChoiceOption {
  return typeof choice === "string"
    ? choice
    : { type: "function", function: { name: choice.name } };
}

/** The shared response for a Chat Completions answer. */
export function fromOpenAICompletion(
  completion: ChatCompletion,
  provider: string,
  requestedModel: string,
): LLMChatResponse {
  const choice = completion.choices[0];
  const toolCalls: LLMToolCall[] = [];
  for (const call of choice?.message.tool_calls ?? []) {
    if (call.type === "function") {
      toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments });
    }
  }
  const reasoning = reasoningText(choice?.message as CompatibleReasoning | undefined);
  return {
    text: choice?.message.content ?? "",
    toolCalls,
    ...(reasoning ? { reasoning: [{ type: "thinking" as const, text: reasoning }] } : {}),
    finishReason: openAIFinishReason(choice?.finish_reason),
    usage: openAIUsage(completion.usage),
    provider,
    model: completion.model || requestedModel,
  };
}

/** OpenAI's finish reason in the shared vocabulary; a missing or unknown one counts as `stop`. */
export function openAIFinishReason(reason: string | null | undefined): LLMFinishReason {
  switch (reason) {
    case "length":
    case "tool_calls":
    case "content_filter":
      return reason;
    case "function_call":
      return "tool_calls";
    default:
      return "stop";
  }
}

/**
 * Where compatible providers put the model's reasoning text, in a message or
 * a stream delta: `reasoning_content` (DeepSeek, vLLM) or `reasoning`
 * (OpenRouter). OpenAI itself returns none in chat completions.
 */
export interface CompatibleReasoning {
  reasoning_content?: string | null;
  reasoning?: string | null;
}

/** The reasoning text of a message or delta, or "". */
export function reasoningText(carrier: CompatibleReasoning | null | undefined): string {
  const text = carrier?.reasoning_content ?? carrier?.reasoning;
  return typeof text === "string" ? text : "";
}

/** Fields some compatible providers add to `usage` (DeepSeek reports its cache hits here). */
interface CompatibleUsage extends CompletionUsage {
  prompt_cache_hit_tokens?: number | null;
}

/**
 * Shared usage from an OpenAI-shaped `usage` object; zeros when there is
 * none. Reasoning tokens are part of `completion_tokens` (billed as output);
 * they are reported only when there were some.
 */
export function openAIUsage(usage: CompatibleUsage | null | undefined): LLMUsage {
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens ?? 0;
  return {
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    cachedInputTokens: usage?.prompt_tokens_details?.cached_tokens ??
      usage?.prompt_cache_hit_tokens ?? 0,
    cacheWriteTokens: 0,
    ...(reasoning > 0 ? { reasoningTokens: reasoning } : {}),
  };
}
