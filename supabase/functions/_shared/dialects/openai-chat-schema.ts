/**
 * `POST /v1/chat/completions` as a zod schema: OpenAI's parameter names and
 * message, tool and tool_choice shapes (`wire-schema.ts`), plus the
 * gateway's routing extras as optional extension fields. Fields OpenAI has
 * and the gateway ignores pass through, so SDKs that send them still work.
 */
import { z } from "zod";
import { chatUseCase, reasoningEffort, routingId } from "./native-schema.ts";
import { wireMessage, wireResponseFormat, wireTool, wireToolChoice } from "./wire-schema.ts";

/** The chat completions request body. */
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
  reasoning_effort: reasoningEffort.nullable().optional(),
  user: z.string().max(256).optional(),
  n: z.literal(1, { error: "only n = 1 is supported" }).nullable().optional(),
  // Extensions: where the request should go.
  use_case: chatUseCase.optional(),
  agent_id: routingId.optional(),
  account_id: routingId.optional(),
  cache: z.boolean().optional(),
}).passthrough();

/** The chat completions request body, parsed. */
export type OpenAIChatBody = z.infer<typeof openAIChatBody>;
