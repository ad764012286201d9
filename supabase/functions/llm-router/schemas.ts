/**
 * Request schemas of llm-router. Both APIs take OpenAI's message, tool and
 * tool_choice shapes (`_shared/dialects/wire-schema.ts`); the native API's
 * body lives with its answer and stream schemas in
 * `_shared/dialects/native-schema.ts` (the client SDK's types come from
 * there), the OpenAI-compatible one follows OpenAI's parameter names.
 */
import { z } from "zod";
import {
  wireMessage,
  wireResponseFormat,
  wireTool,
  wireToolChoice,
} from "../_shared/dialects/wire-schema.ts";

import { chatUseCase, routingId as id } from "../_shared/dialects/native-schema.ts";

export { type NativeChatBody, nativeChatBody } from "../_shared/dialects/native-schema.ts";

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
  use_case: chatUseCase.optional(),
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
