/**
 * An Anthropic Messages body → the gateway's normalized request, so any
 * provider can serve it. Anthropic's shapes map onto the gateway's types
 * (which follow OpenAI's): system blocks become system messages, a user
 * turn's tool_result blocks become tool messages ahead of its other content,
 * an assistant turn's tool_use blocks become tool calls with JSON-text
 * arguments and its thinking blocks its reasoning, kept whole with their
 * signatures. `thinking` and `output_config` are mapped to the gateway's
 * reasoning and response format for other providers, and also kept as they
 * came (`passthrough.anthropic`) for Claude.
 */
import { validationError } from "../http/errors.ts";
import type { ModelCatalog } from "../llm/catalog.ts";
import type {
  LLMAssistantMessage,
  LLMChatRequest,
  LLMContentPart,
  LLMMessage,
  LLMReasoningPart,
  LLMReasoningRequest,
  LLMTool,
  LLMToolCall,
  LLMToolChoice,
} from "../llm/types.ts";
import type {
  AnthropicImageBlock,
  AnthropicMessage,
  AnthropicPrompt,
  AnthropicTool,
  AnthropicToolChoice,
} from "./anthropic-messages-schema.ts";
import { isChatUseCase } from "./native-schema.ts";
import { cacheControlOf, marked } from "./cache-marker.ts";
import { checkToolChoice, type ModelRoute, modelRoute } from "./request-checks.ts";

/** The prompt part of a Messages body in the gateway's terms: where it goes and what it says. */
export interface AnthropicPromptRequest extends ModelRoute {
  chat: Pick<
    LLMChatRequest,
    | "messages"
    | "tools"
    | "toolChoice"
    | "parallelToolCalls"
    | "reasoning"
    | "responseFormat"
    | "cacheControl"
    | "passthrough"
  >;
}

/**
 * The normalized prompt of a validated body (shared by messages and
 * count_tokens); a 400 naming the field for what the schema cannot say (an
 * unknown model, a tool_choice naming no tool, a tool_result answering no
 * tool_use).
 */
export function promptFromAnthropic(
  body: AnthropicPrompt,
  catalog: ModelCatalog,
): AnthropicPromptRequest {
  const useCase = isChatUseCase(body.use_case) ? body.use_case : undefined;
  const tools = body.tools?.length ? body.tools.map(toolFromAnthropic) : undefined;
  const choice = body.tool_choice && toolChoiceFromAnthropic(body.tool_choice);
  checkToolChoice(tools, choice?.toolChoice, "tool_choice");
  const reasoning = reasoningFromAnthropic(body);
  const format = body.output_config?.format;
  const passthrough = {
    ...(body.thinking ? { thinking: body.thinking } : {}),
    ...(body.output_config ? { output_config: body.output_config } : {}),
  };
  return {
    ...modelRoute(catalog, body.model, "model", useCase),
    chat: {
      messages: [
        ...systemFromAnthropic(body.system),
        ...conversationFromAnthropic(body.messages),
      ],
      ...(tools ? { tools } : {}),
      ...choice,
      ...(reasoning ? { reasoning } : {}),
      ...(format
        ? {
          responseFormat: { type: "json_schema" as const, name: "output", schema: format.schema },
        }
        : {}),
      ...(body.cache_control ? { cacheControl: cacheControlOf(body.cache_control) } : {}),
      ...(Object.keys(passthrough).length ? { passthrough: { anthropic: passthrough } } : {}),
    },
  };
}

/** Each system block is its own system message, so each keeps its cache marker. */
function systemFromAnthropic(system: AnthropicPrompt["system"]): LLMMessage[] {
  if (system === undefined || system === "") return [];
  if (typeof system === "string") return [{ role: "system", content: system }];
  return system.map((block) => ({ role: "system", content: block.text, ...marked(block) }));
}

function conversationFromAnthropic(messages: readonly AnthropicMessage[]): LLMMessage[] {
  const out: LLMMessage[] = [];
  // Ids of the tool calls so far: a tool_result must answer one of them.
  const calls = new Set<string>();
  messages.forEach((message, i) => {
    const field = `messages[${i}].content`;
    switch (message.role) {
      case "system":
        out.push(...systemFromAnthropic(message.content));
        return;
      case "assistant": {
        const turn = assistantFromAnthropic(message.content);
        for (const call of turn.toolCalls ?? []) calls.add(call.id);
        out.push(turn);
        return;
      }
      case "user":
        out.push(...userFromAnthropic(message.content, calls, field));
    }
  });
  return out;
}

/** Text, tool calls and reasoning of one assistant turn; reasoning keeps its order and signatures. */
function assistantFromAnthropic(
  content: Extract<AnthropicMessage, { role: "assistant" }>["content"],
): LLMAssistantMessage {
  if (typeof content === "string") return { role: "assistant", content };
  let text = "";
  const toolCalls: LLMToolCall[] = [];
  const reasoning: LLMReasoningPart[] = [];
  for (const block of content) {
    switch (block.type) {
      case "text":
        text += block.text;
        break;
      case "tool_use":
        toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
        break;
      case "thinking":
        reasoning.push({ type: "thinking", text: block.thinking, signature: block.signature });
        break;
      case "redacted_thinking":
        reasoning.push({ type: "redacted_thinking", data: block.data });
    }
  }
  return {
    role: "assistant",
    content: text === "" && toolCalls.length > 0 ? null : text,
    ...(toolCalls.length ? { toolCalls } : {}),
    ...(reasoning.length ? { reasoning } : {}),
  };
}

/**
 * One user turn: its tool results first (they answer the previous turn's
 * calls, wherever the caller put them in the turn), then its own text and
 * images. Images inside a tool result travel in that user message, since a
 * tool message holds text only.
 */
function userFromAnthropic(
  content: Extract<AnthropicMessage, { role: "user" }>["content"],
  calls: ReadonlySet<string>,
  field: string,
): LLMMessage[] {
  if (typeof content === "string") return [{ role: "user", content }];
  const results: LLMMessage[] = [];
  const parts: LLMContentPart[] = [];
  content.forEach((block, j) => {
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: block.text, ...marked(block) });
        break;
      case "image":
        parts.push(imageFromAnthropic(block));
        break;
      case "tool_result": {
        if (!calls.has(block.tool_use_id)) {
          throw validationError(
            `${field}[${j}].tool_use_id`,
            "answers no tool_use of an earlier assistant turn",
          );
        }
        const blocks = typeof block.content === "string"
          ? [{ type: "text" as const, text: block.content }]
          : block.content ?? [];
        const text = blocks.flatMap((b) => b.type === "text" ? [b.text] : []).join("\n");
        results.push({
          role: "tool",
          toolCallId: block.tool_use_id,
          content: text,
          ...marked(block),
        });
        for (const b of blocks) if (b.type === "image") parts.push(imageFromAnthropic(b));
      }
    }
  });
  return parts.length ? [...results, { role: "user", content: parts }] : results;
}

/** An image block as the gateway's image part: a base64 source becomes a data URL. */
function imageFromAnthropic(block: AnthropicImageBlock): LLMContentPart {
  const { source } = block;
  const url = source.type === "url"
    ? source.url
    : `data:${source.media_type};base64,${source.data.replace(/[\r\n]/g, "")}`;
  return { type: "image", url, ...marked(block) };
}

function toolFromAnthropic(tool: AnthropicTool): LLMTool {
  return {
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    parameters: tool.input_schema,
    ...marked(tool),
  };
}

function toolChoiceFromAnthropic(
  choice: AnthropicToolChoice,
): { toolChoice: LLMToolChoice; parallelToolCalls?: false } {
  const serial = choice.type !== "none" && choice.disable_parallel_tool_use === true
    ? { parallelToolCalls: false as const }
    : {};
  switch (choice.type) {
    case "auto":
      return { toolChoice: "auto", ...serial };
    case "any":
      return { toolChoice: "required", ...serial };
    case "tool":
      return { toolChoice: { name: choice.name }, ...serial };
    case "none":
      return { toolChoice: "none" };
  }
}

/**
 * The gateway's reasoning request: a thinking budget from `thinking`, an
 * effort from `output_config.effort`; adaptive thinking without an effort
 * asks for the provider's default. Disabled thinking asks for none.
 */
function reasoningFromAnthropic(body: AnthropicPrompt): LLMReasoningRequest | undefined {
  const effort = body.output_config?.effort ?? undefined;
  const thinking = body.thinking;
  if (thinking?.type === "enabled") {
    return { budgetTokens: thinking.budget_tokens, ...(effort ? { effort } : {}) };
  }
  if (effort) return { effort };
  if (thinking?.type === "adaptive") return {};
  return undefined;
}
