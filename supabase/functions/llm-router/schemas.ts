/**
 * Request schemas of llm-router. Both APIs take OpenAI's message, tool and
 * tool_choice shapes; the native API adds routing fields, the
 * OpenAI-compatible one follows OpenAI's parameter names.
 */
import { z } from "zod";
import { USE_CASES } from "../_shared/llm/catalog.ts";

const text = z.string().max(1_000_000);
/** A message's `name` (who spoke): an identifier, bounded like the others. */
const participantName = z.string().max(200);
const textParts = z.array(z.strictObject({ type: z.literal("text"), text })).min(1);

const userPart = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text"), text }),
  z.strictObject({
    type: z.literal("image_url"),
    image_url: z.strictObject({
      url: z.string().regex(
        /^(https:\/\/|data:image\/[a-z+.-]+;base64,)/,
        "must be an https: or data:image/…;base64 URL",
      ),
      detail: z.enum(["auto", "low", "high"]).optional(),
    }),
  }),
]);

const toolCall = z.strictObject({
  id: z.string().min(1).max(200),
  type: z.literal("function"),
  function: z.strictObject({
    name: z.string().min(1).max(128),
    arguments: z.string().max(1_000_000),
  }),
});

/** One OpenAI-format chat message. */
export const wireMessage = z.discriminatedUnion("role", [
  z.strictObject({
    role: z.literal("system"),
    content: z.union([text, textParts]),
    name: participantName.optional(),
  }),
  z.strictObject({
    role: z.literal("developer"),
    content: z.union([text, textParts]),
    name: participantName.optional(),
  }),
  z.strictObject({
    role: z.literal("user"),
    content: z.union([text, z.array(userPart).min(1)]),
    name: participantName.optional(),
  }),
  z.strictObject({
    role: z.literal("assistant"),
    content: z.union([text, textParts]).nullable().optional(),
    tool_calls: z.array(toolCall).max(128).optional(),
    name: participantName.optional(),
    refusal: text.nullable().optional(),
  }),
  z.strictObject({
    role: z.literal("tool"),
    tool_call_id: z.string().min(1).max(200),
    content: z.union([text, textParts]),
  }),
]);

const toolName = z.string().regex(
  /^[a-zA-Z0-9_-]{1,64}$/,
  "tool names are 1–64 letters, digits, _ or -",
);

/** An OpenAI-format tool. */
export const wireTool = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: toolName,
    description: z.string().max(10_000).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().optional(),
  }),
});

/** An OpenAI-format tool_choice. */
export const wireToolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: toolName }) }),
], { error: 'must be "auto", "none", "required" or {"type":"function","function":{"name":…}}' });

/** OpenAI's response_format. */
export const wireResponseFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: z.string().min(1).max(64),
      schema: z.record(z.string(), z.unknown()),
      strict: z.boolean().nullable().optional(),
      description: z.string().max(10_000).optional(),
    }),
  }),
]);

const chatUseCases = USE_CASES.filter((u) => u !== "embedding") as [string, ...string[]];
const id = z.string().min(1).max(200);

/** The native API's body. */
export const nativeChatBody = z.strictObject({
  useCase: z.enum(chatUseCases).optional(),
  tier: z.string().min(1).max(64).optional(),
  prompt: text.min(1).optional(),
  messages: z.array(wireMessage).min(1).max(1_000).optional(),
  systemPrompt: text.optional(),
  maxTokens: z.int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  stop: z.array(z.string().min(1)).max(4).optional(),
  modelOverride: id.optional(),
  stream: z.boolean().optional(),
  tools: z.array(wireTool).max(128).optional(),
  toolChoice: wireToolChoice.optional(),
  parallelToolCalls: z.boolean().optional(),
  responseFormat: wireResponseFormat.optional(),
  maxSteps: z.int().min(1).max(10).optional(),
  agentId: id.optional(),
  accountId: id.optional(),
  summarizeTrimmed: z.boolean().optional(),
  /** Serve from (and fill) the response cache; the use case's setting when absent. */
  cache: z.boolean().optional(),
});

/** The native API's body, parsed. */
export type NativeChatBody = z.infer<typeof nativeChatBody>;

/** `POST /v1/chat/completions`, with the routing extras as optional extension fields. */
export const openAIChatBody = z.object({
  model: z.string().min(1).max(200),
  messages: z.array(wireMessage).min(1).max(1_000),
  stream: z.boolean().nullable().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.int().min(1).max(1_000_000).nullable().optional(),
  max_completion_tokens: z.int().min(1).max(1_000_000).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullable().optional(),
  tools: z.array(wireTool).max(128).optional(),
  tool_choice: wireToolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: wireResponseFormat.optional(),
  user: z.string().max(256).optional(),
  n: z.literal(1, { error: "only n = 1 is supported" }).nullable().optional(),
  // Extensions: where the request should go.
  use_case: z.enum(chatUseCases).optional(),
  agent_id: id.optional(),
  account_id: id.optional(),
  cache: z.boolean().optional(),
}).passthrough();

/** `POST /v1/chat/completions` body, parsed. */
export type OpenAIChatBody = z.infer<typeof openAIChatBody>;

/** `POST /v1/embeddings`. */
export const openAIEmbeddingsBody = z.object({
  model: z.string().min(1).max(200),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2_048)]),
  dimensions: z.int().min(1).max(10_000).optional(),
  encoding_format: z.enum(["float", "base64"]).optional(),
  user: z.string().max(256).optional(),
  account_id: id.optional(),
}).passthrough();
