/**
 * `POST /v1/messages` and `/v1/messages/count_tokens` as zod schemas, in
 * Anthropic's field names: `system` as text or blocks, user blocks (text,
 * image, tool_result), assistant blocks (text, tool_use, thinking,
 * redacted_thinking), custom tools, tool_choice, `thinking`, `output_config`
 * and `cache_control`, plus the gateway's routing extras as optional
 * extension fields. Unknown top-level fields pass (SDKs add fields faster
 * than gateways); unknown block types are a 400 naming the block, since
 * dropping one would change the conversation.
 */
import { z } from "zod";
import { chatUseCase, routingId } from "./native-schema.ts";
import { toolName, wireText } from "./wire-schema.ts";
import { wireCacheControl } from "./cache-marker.ts";

/** Anthropic's prompt-cache marker. */
const cacheControl = wireCacheControl;

const textBlock = z.object({
  type: z.literal("text"),
  text: wireText,
  cache_control: cacheControl,
  // Citations from an earlier answer: accepted, not forwarded.
  citations: z.array(z.unknown()).max(1_000).nullable().optional(),
});

const imageSource = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("base64"),
    media_type: z.enum(["image/jpeg", "image/png", "image/gif", "image/webp"]),
    data: z.string().min(1).regex(/^[A-Za-z0-9+/=\r\n]+$/, "must be base64"),
  }),
  z.strictObject({
    type: z.literal("url"),
    url: z.string().max(8_192).regex(/^https:\/\//, "must be an https: URL"),
  }),
], { error: 'must be {"type":"base64",…} or {"type":"url",…}' });

const imageBlock = z.object({
  type: z.literal("image"),
  source: imageSource,
  cache_control: cacheControl,
});

const toolResultBlock = z.object({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1).max(200),
  content: z.union([
    wireText,
    z.array(z.discriminatedUnion("type", [textBlock, imageBlock], {
      error: "tool_result content blocks are text or image",
    })).max(1_000),
  ]).optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});

const toolUseBlock = z.object({
  type: z.literal("tool_use"),
  id: z.string().min(1).max(200),
  name: z.string().min(1).max(128),
  input: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});

const thinkingBlock = z.object({
  type: z.literal("thinking"),
  thinking: wireText,
  signature: z.string().max(100_000),
});

const redactedThinkingBlock = z.object({
  type: z.literal("redacted_thinking"),
  data: z.string().max(1_000_000),
});

const userBlock = z.discriminatedUnion("type", [textBlock, imageBlock, toolResultBlock], {
  error: "user content blocks are text, image or tool_result",
});

const assistantBlock = z.discriminatedUnion("type", [
  textBlock,
  toolUseBlock,
  thinkingBlock,
  redactedThinkingBlock,
], { error: "assistant content blocks are text, tool_use, thinking or redacted_thinking" });

const systemText = z.union([wireText, z.array(textBlock).max(100)]);

/** One message of the conversation (a `system` role is the newer SDKs' in-line system prompt). */
const anthropicMessage = z.discriminatedUnion("role", [
  z.strictObject({
    role: z.literal("user"),
    content: z.union([wireText, z.array(userBlock).min(1).max(1_000)]),
  }),
  z.strictObject({
    role: z.literal("assistant"),
    content: z.union([wireText, z.array(assistantBlock).max(1_000)]),
  }),
  z.strictObject({ role: z.literal("system"), content: systemText }),
], { error: 'role must be "user", "assistant" or "system"' });

/** A custom tool; server tools (web search, code execution …) run at Anthropic only. */
const anthropicTool = z.object({
  type: z.literal("custom", {
    error: "only custom tools are supported (server tools run at Anthropic only)",
  }).nullable().optional(),
  name: toolName,
  description: z.string().max(10_000).optional(),
  input_schema: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});

const parallel = { disable_parallel_tool_use: z.boolean().optional() };

const anthropicToolChoice = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("auto"), ...parallel }),
  z.strictObject({ type: z.literal("any"), ...parallel }),
  z.strictObject({ type: z.literal("tool"), name: toolName, ...parallel }),
  z.strictObject({ type: z.literal("none") }),
], { error: 'type must be "auto", "any", "tool" or "none"' });

const display = z.enum(["summarized", "omitted"]).nullable().optional();

const anthropicThinking = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("enabled"),
    budget_tokens: z.int().min(1).max(1_000_000),
    display,
  }),
  z.strictObject({ type: z.literal("adaptive"), display }),
  z.strictObject({ type: z.literal("disabled") }),
  z.strictObject({ type: z.literal("between_tools") }),
], { error: 'type must be "enabled", "adaptive", "disabled" or "between_tools"' });

const anthropicOutputConfig = z.strictObject({
  effort: z.enum(["low", "medium", "high", "xhigh", "max"]).nullable().optional(),
  format: z.strictObject({
    type: z.literal("json_schema"),
    schema: z.record(z.string(), z.unknown()),
  }).nullable().optional(),
});

/** What a Messages request and a token count share: the prompt, tools and settings. */
const anthropicPrompt = z.object({
  model: z.string().min(1).max(200),
  messages: z.array(anthropicMessage).min(1).max(1_000),
  system: systemText.optional(),
  tools: z.array(anthropicTool).max(128).optional(),
  tool_choice: anthropicToolChoice.optional(),
  thinking: anthropicThinking.optional(),
  output_config: anthropicOutputConfig.optional(),
  cache_control: cacheControl,
  // Extensions: where the request should go.
  use_case: chatUseCase.optional(),
  agent_id: routingId.optional(),
  account_id: routingId.optional(),
}).passthrough();

/** The Messages request body. */
export const anthropicMessagesBody = anthropicPrompt.extend({
  max_tokens: z.int().min(1).max(1_000_000),
  stream: z.boolean().optional(),
  stop_sequences: z.array(z.string().min(1).max(1_000)).max(16).optional(),
  // Not in the newest API version, still sent by older clients.
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  top_k: z.int().min(1).optional(),
  metadata: z.object({ user_id: z.string().max(256).nullable().optional() }).optional(),
  cache: z.boolean().optional(),
});

/** The count_tokens request body. */
export const anthropicCountTokensBody = anthropicPrompt;

/** A count_tokens body, parsed. */
export type AnthropicPrompt = z.infer<typeof anthropicCountTokensBody>;
/** One message as a Messages body carries it. */
export type AnthropicMessage = z.infer<typeof anthropicMessage>;
/** A custom tool. */
export type AnthropicTool = z.infer<typeof anthropicTool>;
/** A tool_choice. */
export type AnthropicToolChoice = z.infer<typeof anthropicToolChoice>;
/** An image block. */
export type AnthropicImageBlock = z.infer<typeof imageBlock>;
