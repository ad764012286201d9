/**
 * OpenAI's message, tool, tool_choice and response_format shapes as zod
 * schemas. Both llm-router APIs take them (the native API under camelCase
 * field names, the OpenAI-compatible one under OpenAI's), so they live here
 * once.
 */
import { z } from "zod";
import { wireCacheControl } from "./cache-marker.ts";

/** A text field: long enough for any real prompt, bounded so no body is unbounded work. */
export const wireText = z.string().max(1_000_000);
/** A message's `name` (who spoke): an identifier, bounded like the others. */
const participantName = z.string().max(200);
/**
 * A text part; `cache_control` (OpenRouter's and LiteLLM's extension) marks
 * the end of a cached prefix for providers that take one (Anthropic).
 */
const textPart = z.strictObject({
  type: z.literal("text"),
  text: wireText,
  cache_control: wireCacheControl,
});
const textParts = z.array(textPart).min(1);

/** An image as a request may send it: an `https:` URL or a base64 `data:image/…` URL. */
export const wireImageUrl = z.string().regex(
  /^(https:\/\/|data:image\/[a-z+.-]+;base64,)/,
  "must be an https: or data:image/…;base64 URL",
);

const userPart = z.discriminatedUnion("type", [
  textPart,
  z.strictObject({
    type: z.literal("image_url"),
    image_url: z.strictObject({
      url: wireImageUrl,
      detail: z.enum(["auto", "low", "high"]).optional(),
    }),
    cache_control: wireCacheControl,
  }),
]);

/** A tool call in OpenAI's format, as an assistant message carries it and answers return it. */
export const wireToolCall = z.strictObject({
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
    content: z.union([wireText, textParts]),
    name: participantName.optional(),
  }),
  z.strictObject({
    role: z.literal("developer"),
    content: z.union([wireText, textParts]),
    name: participantName.optional(),
  }),
  z.strictObject({
    role: z.literal("user"),
    content: z.union([wireText, z.array(userPart).min(1)]),
    name: participantName.optional(),
  }),
  z.strictObject({
    role: z.literal("assistant"),
    content: z.union([wireText, textParts]).nullable().optional(),
    tool_calls: z.array(wireToolCall).max(128).optional(),
    name: participantName.optional(),
    refusal: wireText.nullable().optional(),
  }),
  z.strictObject({
    role: z.literal("tool"),
    tool_call_id: z.string().min(1).max(200),
    content: z.union([wireText, textParts]),
  }),
]);

/** A function tool's name, as every provider accepts it. */
export const toolName = z.string().regex(
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

/** A chat message as callers send it. */
export type WireMessage = z.infer<typeof wireMessage>;
/** A tool call in OpenAI's format. */
export type WireToolCall = z.infer<typeof wireToolCall>;
/** A tool definition as callers send it. */
export type WireTool = z.infer<typeof wireTool>;
/** A `tool_choice` as callers send it. */
export type WireToolChoice = z.infer<typeof wireToolChoice>;
/** A `response_format` as callers send it. */
export type WireResponseFormat = z.infer<typeof wireResponseFormat>;
