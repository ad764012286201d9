/**
 * Shared types ⇄ Anthropic Messages wire shapes. Anthropic differs from the
 * shared (OpenAI-shaped) format in ways that need real translation: the system
 * prompt is a parameter, tool results are user content, roles must alternate,
 * `max_tokens` is required and sampling parameters are not accepted at all.
 * Prompt-cache markers (`cache_control`), thinking (budget, effort, and
 * thinking blocks with their signatures, both ways) and structured output
 * (`output_config.format`) map to Anthropic's own fields; a Messages body's
 * own fields (`passthrough.anthropic`) go as given, over the mapped ones.
 */
import type {
  CacheControlEphemeral,
  ContentBlockParam,
  ImageBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  OutputConfig,
  StopReason,
  TextBlockParam,
  ThinkingConfigParam,
  Tool,
  ToolChoice,
  ToolUseBlockParam,
} from "@anthropic-ai/sdk/resources/messages";
import type {
  LLMCacheControl,
  LLMChatRequest,
  LLMChatResponse,
  LLMContentPart,
  LLMFinishReason,
  LLMMessage,
  LLMReasoningPart,
  LLMReasoningRequest,
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
  const system = systemParam(request.messages, request.responseFormat);
  if (system) params.system = system;
  const tools = request.tools ?? [];
  // Anthropic rejects tool_choice without tools.
  if (tools.length > 0) {
    params.tools = tools.map((tool): Tool => ({
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      input_schema: tool.parameters as Tool.InputSchema,
      ...cacheMarker(tool.cacheControl),
    }));
    const choice = toAnthropicToolChoice(request);
    if (choice) params.tool_choice = choice;
  }
  // temperature and top_p are deliberately not sent: API version 2026-10-21 (the
  // adapter's) rejects every sampling parameter with a 400, even at defaults.
  if (request.stop !== undefined && request.stop.length > 0) params.stop_sequences = request.stop;
  if (request.user !== undefined) params.metadata = { user_id: request.user };
  if (request.cacheControl) params.cache_control = cacheControlOf(request.cacheControl);
  const thinking = thinkingOf(request.reasoning);
  if (thinking) params.thinking = thinking;
  const output = outputConfigOf(request);
  if (output) params.output_config = output;
  return withPassthrough(params, request.passthrough?.anthropic);
}

/** Fields the request itself decides; a passthrough never replaces them. */
const OWN_FIELDS = new Set(["model", "messages", "max_tokens", "stream"]);

/**
 * `params` with a Messages body's own fields over the mapped ones, so a
 * Claude-to-Claude request reaches Claude as written. `output_config` merges
 * key by key: the body's `effort` beside a mapped `format`.
 */
function withPassthrough(
  params: MessageCreateParamsBase,
  own: Record<string, unknown> | undefined,
): MessageCreateParamsBase {
  if (!own) return params;
  const merged: Record<string, unknown> = { ...params };
  for (const [key, value] of Object.entries(own)) {
    if (value === undefined || OWN_FIELDS.has(key)) continue;
    merged[key] = key === "output_config" && isObject(value) && params.output_config
      ? { ...params.output_config, ...value }
      : value;
  }
  return merged as unknown as MessageCreateParamsBase;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `thinking` from the planned reasoning: `effort: "none"` turns it off, a
 * budget turns it on (the planner keeps the budget below `max_tokens`).
 */
function thinkingOf(reasoning: LLMReasoningRequest | undefined): ThinkingConfigParam | undefined {
  if (reasoning?.effort === "none") return { type: "disabled" };
  if (reasoning?.budgetTokens !== undefined) {
    return { type: "enabled", budget_tokens: reasoning.budgetTokens };
  }
  return undefined;
}

/** Anthropic's effort levels; `minimal` is its `low`. */
type AnthropicEffort = NonNullable<OutputConfig["effort"]>;

/** `output_config`: the JSON schema (structured output) and the effort level. */
function outputConfigOf(request: LLMChatRequest): OutputConfig | undefined {
  const config: OutputConfig = {};
  const format = request.responseFormat;
  if (format?.type === "json_schema") {
    config.format = { type: "json_schema", schema: format.schema };
  }
  const effort = request.reasoning?.effort;
  if (effort !== undefined && effort !== "none") {
    config.effort = (effort === "minimal" ? "low" : effort) as AnthropicEffort;
  }
  return config.format || config.effort ? config : undefined;
}

function cacheControlOf(marker: LLMCacheControl): CacheControlEphemeral {
  return marker.ttl ? { type: "ephemeral", ttl: marker.ttl } : { type: "ephemeral" };
}

/** `{cache_control}` for a block marked as the end of a cached prefix, else nothing. */
function cacheMarker(
  marker: LLMCacheControl | undefined,
): { cache_control?: CacheControlEphemeral } {
  return marker ? { cache_control: cacheControlOf(marker) } : {};
}

/**
 * The system prompt: one string (system messages joined) unless one of them
 * marks a cache prefix, then one text block per message so the marker stays
 * where the caller put it. A `json_object` format adds its instruction (a
 * schema goes in `output_config.format` instead).
 */
function systemParam(
  messages: LLMMessage[],
  format: LLMResponseFormat | undefined,
): string | TextBlockParam[] | undefined {
  const blocks: TextBlockParam[] = messages.flatMap((m) =>
    m.role === "system" && m.content
      ? [{ type: "text" as const, text: m.content, ...cacheMarker(m.cacheControl) }]
      : []
  );
  if (format?.type === "json_object") {
    blocks.push({
      type: "text",
      text: "Respond with a single JSON object only: no prose, no Markdown code fences.",
    });
  }
  if (blocks.length === 0) return undefined;
  return blocks.some((b) => b.cache_control) ? blocks : blocks.map((b) => b.text).join("\n\n");
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
      return [{
        type: "tool_result",
        tool_use_id: message.toolCallId,
        content: message.content,
        ...(message.isError ? { is_error: true } : {}),
        ...cacheMarker(message.cacheControl),
      }];
    case "assistant": {
      const answer: (TextBlockParam | ToolUseBlockParam)[] = [
        // Anthropic rejects empty text blocks.
        ...(message.content ? [{ type: "text" as const, text: message.content }] : []),
        ...(message.toolCalls ?? []).map((call) => ({
          type: "tool_use" as const,
          id: call.id,
          name: call.name,
          input: parseArguments(call.arguments),
        })),
      ];
      const last = answer.at(-1);
      if (last && message.cacheControl) last.cache_control = cacheControlOf(message.cacheControl);
      // Thinking goes back first and unchanged: Anthropic checks its signature.
      return [...(message.reasoning ?? []).flatMap(reasoningBlock), ...answer];
    }
    case "user": {
      const parts: LLMContentPart[] = typeof message.content === "string"
        ? [{ type: "text", text: message.content }]
        : message.content;
      return parts.flatMap((part): ContentBlockParam[] => {
        if (part.type === "image") {
          return [{ ...imageBlock(part.url), ...cacheMarker(part.cacheControl) }];
        }
        return part.text
          ? [{ type: "text", text: part.text, ...cacheMarker(part.cacheControl) }]
          : [];
      });
    }
  }
}

/**
 * A reasoning part as Anthropic takes it back. Thinking without a signature
 * came from another provider (DeepSeek's reasoning text): Anthropic would
 * reject it, so it stays behind.
 */
function reasoningBlock(part: LLMReasoningPart): ContentBlockParam[] {
  if (part.type === "redacted_thinking") return [{ type: "redacted_thinking", data: part.data }];
  return part.signature
    ? [{ type: "thinking", thinking: part.text, signature: part.signature }]
    : [];
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
  const reasoning: LLMReasoningPart[] = [];
  let text = "";
  for (const block of message.content ?? []) {
    if (block.type === "text") text += block.text;
    if (block.type === "tool_use") {
      toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
    }
    if (block.type === "thinking") {
      reasoning.push({ type: "thinking", text: block.thinking, signature: block.signature });
    }
    if (block.type === "redacted_thinking") {
      reasoning.push({ type: "redacted_thinking", data: block.data });
    }
  }
  return {
    text,
    toolCalls,
    ...(reasoning.length > 0 ? { reasoning } : {}),
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
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

/**
 * Shared usage: Anthropic's `input_tokens` excludes cache reads and writes;
 * ours includes them. Thinking tokens are part of `output_tokens` (billed as
 * output); they are reported only when there were some.
 */
export function anthropicUsage(usage: AnthropicUsageFields | null | undefined): LLMUsage {
  const cached = usage?.cache_read_input_tokens ?? 0;
  const written = usage?.cache_creation_input_tokens ?? 0;
  const thinking = usage?.output_tokens_details?.thinking_tokens ?? 0;
  return {
    inputTokens: (usage?.input_tokens ?? 0) + cached + written,
    outputTokens: usage?.output_tokens ?? 0,
    cachedInputTokens: cached,
    cacheWriteTokens: written,
    ...(thinking > 0 ? { reasoningTokens: thinking } : {}),
  };
}
