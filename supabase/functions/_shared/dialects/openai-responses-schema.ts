/**
 * `POST /v1/responses` (OpenAI's Responses API) as a zod schema: `input` as
 * text or items (messages with text and image parts, `function_call`,
 * `function_call_output`, `reasoning`), `instructions`, function tools,
 * `tool_choice`, `text.format`, `reasoning.effort`, `max_output_tokens`, plus
 * the gateway's routing extras. The gateway keeps no responses, so every
 * field that needs server-side state is refused first, by name.
 */
import { z } from "zod";
import { chatUseCase, routingId } from "./native-schema.ts";
import { toolName, wireImageUrl, wireText } from "./wire-schema.ts";

const STATELESS = "the gateway keeps no responses: send the whole conversation in input";

const inputText = z.object({ type: z.literal("input_text"), text: wireText });
const outputText = z.object({ type: z.literal("output_text"), text: wireText });
const refusal = z.object({ type: z.literal("refusal"), refusal: wireText });
const inputImage = z.object({
  type: z.literal("input_image"),
  image_url: wireImageUrl.nullable().optional(),
  file_id: z.string().max(200).nullable().optional(),
  detail: z.enum(["auto", "low", "high", "original"]).optional(),
});

/** One part of a message's content (which part fits which role is checked when it is read). */
const contentPart = z.discriminatedUnion("type", [inputText, inputImage, outputText, refusal], {
  error: "parts are input_text, input_image, output_text or refusal (files are not supported)",
});

const message = z.object({
  type: z.literal("message"),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([wireText, z.array(contentPart).max(1_000)]),
});

const callId = z.string().min(1).max(200);

const functionCall = z.object({
  type: z.literal("function_call"),
  call_id: callId,
  name: toolName,
  arguments: z.string().max(1_000_000),
});

const functionCallOutput = z.object({
  type: z.literal("function_call_output"),
  call_id: callId,
  output: z.union([wireText, z.array(contentPart).max(1_000)]),
});

/** A reasoning item as a response returned it (its summary text, its signature as `encrypted_content`). */
const reasoning = z.object({
  type: z.literal("reasoning"),
  summary: z.array(z.object({ type: z.literal("summary_text"), text: wireText })).max(100),
  encrypted_content: z.string().max(1_000_000).nullable().optional(),
});

/** Refused when read: it points at a stored item, and none is stored. */
const itemReference = z.object({ type: z.literal("item_reference"), id: z.string().max(200) });

const item = z.discriminatedUnion(
  "type",
  [message, functionCall, functionCallOutput, reasoning, itemReference],
  {
    error:
      "items are messages, function_call, function_call_output or reasoning (hosted tool items are not supported)",
  },
);

/** An item; a message may leave out its `type`, as OpenAI allows. */
const inputItem = z.preprocess(
  (value) =>
    value !== null && typeof value === "object" && !("type" in value) && "role" in value
      ? { ...value, type: "message" }
      : value,
  item,
);

const functionTool = z.object({
  type: z.literal("function"),
  name: toolName,
  description: z.string().max(10_000).nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const tool = z.discriminatedUnion("type", [functionTool], {
  error: "only function tools are supported (hosted tools such as web_search are not)",
});

const toolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.object({ type: z.literal("function"), name: toolName }),
], { error: 'must be "auto", "none", "required" or {"type":"function","name":…}' });

const textFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullable().optional(),
    description: z.string().max(10_000).optional(),
  }),
], { error: "format types are text, json_object or json_schema" });

/** The Responses request body. */
export const responsesBody = z.object({
  // Server-side state, checked first so its 400 names it whatever else the body holds.
  previous_response_id: z.null({ error: STATELESS }).optional(),
  conversation: z.null({ error: STATELESS }).optional(),
  store: z.literal(false, {
    error: "the gateway keeps no responses: leave store out or set it to false",
  }).nullable().optional(),
  background: z.literal(false, { error: "background responses need stored responses" })
    .nullable().optional(),
  prompt: z.null({ error: "stored prompts are not supported: send instructions" }).optional(),
  model: z.string().min(1).max(200),
  input: z.union([wireText.min(1), z.array(inputItem).min(1).max(1_000)]),
  instructions: wireText.nullable().optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  text: z.object({ format: textFormat.optional() }).optional(),
  reasoning: z.object({
    effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).nullable()
      .optional(),
  }).nullable().optional(),
  max_output_tokens: z.int().min(1).max(1_000_000).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  // Echoed in the answer, used for nothing else.
  metadata: z.record(z.string().max(64), z.string().max(512))
    .refine((pairs) => Object.keys(pairs).length <= 16, "holds at most 16 pairs")
    .nullable().optional(),
  user: z.string().max(256).optional(),
  stream: z.boolean().nullable().optional(),
  // Extensions: where the request should go.
  use_case: chatUseCase.optional(),
  agent_id: routingId.optional(),
  account_id: routingId.optional(),
  cache: z.boolean().optional(),
}).passthrough();

/** The Responses request body, parsed. */
export type ResponsesBody = z.infer<typeof responsesBody>;
/** One `input` item, parsed. */
export type ResponsesInputItem = z.infer<typeof item>;
/** One part of a message's content, parsed. */
export type ResponsesContentPart = z.infer<typeof contentPart>;
