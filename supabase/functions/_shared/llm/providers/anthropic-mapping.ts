/**
 * Shared types ⇄ Anthropic Messages wire shapes. Anthropic differs from the
 * shared (OpenAI-shaped) format in ways that need real translation: the system
 * prompt is a parameter, tool results are user content, roles must alternate,
 * `max_tokens` is required and sampling parameters are not accepted at all.
 */
import type {
  ContentBlockParam,
  ImageBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  StopReason,
  Tool,
  ToolChoice,
} from "@anthropic-ai/sdk/resources/messages";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMFinishReason,
  LLMMessage,
  LLMResponseFormat,
  LLMToolCall,
  LLMUsage,
} from "../types.ts";

/** Anthropic requires an output cap; this one applies when the request sets none. */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * Messages API parameters for `request`, without `stream` (a stream adds it).
 * Only body fields: the SDK's header parameters (`workspace_id`, …) are never set.
 */
export function toAnthropicParams(
  request: LLMChatRequest,
  model: string,
): MessageCreateParamsBase {
  const params: MessageCreateParamsBase = {
    model,
    max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: toAnthropicMessages(request.messages),
  };
  const system = systemPrompt(request.messages, request.responseFormat);
  if (system) params.system = system;
  const tools = request.tools ?? [];
  // Anthropic rejects tool_choice without tools.
  if (tools.length > 0) {
    params.tools = tools.map((tool): Tool => ({
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      input_schema: tool.parameters as Tool.InputSchema,
    }));
    const choice = toAnthropicToolChoice(request);
    if (choice) params.tool_choice = choice;
  }
  // temperature and top_p are deliberately not sent: API version 2026-10-21 (the
  // adapter's) rejects every sampling parameter with a 400, even at defaults.
  if (request.stop !== undefined && request.stop.length > 0) params.stop_sequences = request.stop;
  if (request.user !== undefined) params.metadata = { user_id: request.user };
  return params;
}

function systemPrompt(messages: LLMMessage[], format: LLMResponseFormat | undefined): string {
  const parts = messages.flatMap((m) => (m.role === "system" && m.content ? [m.content] : []));
  // An instruction works on every Claude model; structured outputs (`output_config.format`)
  // do not, so JSON formats are asked for in words.
  if (format?.type === "json_object") {
    parts.push("Respond with a single JSON object only: no prose, no Markdown code fences.");
  } else if (format?.type === "json_schema") {
    parts.push(
      `Respond with a single JSON object only, no prose and no Markdown code fences, ` +
        `that conforms to this JSON Schema (${format.name}):\n${JSON.stringify(format.schema)}`,
    );
  }
  return parts.join("\n\n");
}

function toAnthropicToolChoice(request: LLMChatRequest): ToolChoice | undefined {
  const choice = request.toolChoice;
  const serial = request.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === "none") return { type: "none" };
  if (choice === "required") return { type: "any", ...serial };
  if (typeof choice === "object") return { type: "tool", name: choice.name, ...serial };
  if (choice === "auto" || request.parallelToolCalls === false) return { type: "auto", ...serial };
  return undefined;
}

/**
 * Turns the conversation into alternating user/assistant turns: system
 * messages leave (they become `system`), tool results become user content,
 * and consecutive turns of one role merge, tool results first as Anthropic requires.
 */
function toAnthropicMessages(messages: LLMMessage[]): MessageParam[] {
  const turns: { role: "user" | "assistant"; content: ContentBlockParam[] }[] = [];
  for (const message of messages) {
    if (message.role === "system") continue;
    const blocks = blocksOf(message);
    if (blocks.length === 0) continue;
    const role = message.role === "assistant" ? "assistant" : "user";
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  }
  for (const turn of turns) {
    if (turn.role === "user") {
      turn.content = [
        ...turn.content.filter((b) => b.type === "tool_result"),
        ...turn.content.filter((b) => b.type !== "tool_result"),
      ];
    }
  }
  return turns;
}

function blocksOf(message: Exclude<LLMMessage, { role: "system" }>): ContentBlockParam[] {
  switch (message.role) {
    case "tool":
      return [{ type: "tool_result", tool_use_id: message.toolCallId, content: message.content }];
    case "assistant":
      return [
        // Anthropic rejects empty text blocks.
        ...(message.content ? [{ type: "text" as const, text: message.content }] : []),
        ...(message.toolCalls ?? []).map((call) => ({
          type: "tool_use" as const,
          id: call.id,
          name: call.name,
          input: parseArguments(call.arguments),
        })),
      ];
    case "user": {
      const parts = typeof message.content === "string"
        ? [{ type: "text" as const, text: message.content }]
        : message.content;
      return parts.flatMap((part): ContentBlockParam[] => {
        if (part.type === "image") return [imageBlock(part.url)];
        return part.text ? [{ type: "text", text: part.text }] : [];
      });
    }
  }
}

/** Tool-call arguments are JSON text that the model may have garbled; Anthropic needs an object. */
function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Fall through: an empty object keeps the turn valid.
  }
  return {};
}

const DATA_URL = /^data:(image\/(?:jpeg|png|gif|webp));base64,(.+)$/s;

function imageBlock(url: string): ImageBlockParam {
  const data = DATA_URL.exec(url);
  if (data) {
    const mediaType = data[1] as "image/jpeg" | "image/png" | "image/gif" | "image/webp";
    return { type: "image", source: { type: "base64", media_type: mediaType, data: data[2] } };
  }
  // Anything else is passed as a URL: Anthropic's own 400 then names the problem.
  return { type: "image", source: { type: "url", url } };
}

/** The shared response for a Messages API answer. */
export function fromAnthropicMessage(
  message: Message,
  provider: string,
  requestedModel: string,
): LLMChatResponse {
  const toolCalls: LLMToolCall[] = [];
  let text = "";
  for (const block of message.content ?? []) {
    if (block.type === "text") text += block.text;
    if (block.type === "tool_use") {
      toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
    }
  }
  return {
    text,
    toolCalls,
    finishReason: anthropicFinishReason(message.stop_reason),
    usage: anthropicUsage(message.usage),
    provider,
    model: message.model || requestedModel,
  };
}

/** Anthropic's stop reason in the shared vocabulary. */
export function anthropicFinishReason(
  reason: StopReason | string | null | undefined,
): LLMFinishReason {
  switch (reason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "stop";
  }
}

/** Anthropic's token counts, as they appear in `usage` of a message or stream event. */
export interface AnthropicUsageFields {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** Shared usage: Anthropic's `input_tokens` excludes cache reads and writes; ours includes them. */
export function anthropicUsage(usage: AnthropicUsageFields | null | undefined): LLMUsage {
  const cached = usage?.cache_read_input_tokens ?? 0;
  const written = usage?.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage?.input_tokens ?? 0) + cached + written,
    outputTokens: usage?.output_tokens ?? 0,
    cachedInputTokens: cached,
    cacheWriteTokens: written,
  };
}
