/**
 * The chat entrances: `POST /` (the native API) and `POST /v1/chat/completions`
 * (OpenAI's), each a dialect in front of the one chat pipeline, its errors
 * rendered as its clients expect them.
 */
import type { ChatDialect } from "../_shared/dialects/chat-dialect.ts";
import { nativeChat } from "../_shared/dialects/native-chat.ts";
import { openAIChat } from "../_shared/dialects/openai-chat.ts";
import type { ChatPipeline } from "./chat-pipeline.ts";
import type { Route } from "./routes.ts";

/** The chat routes over `pipeline`. */
export function chatRoutes(pipeline: ChatPipeline): Route[] {
  const entrance = (method: string, pattern: string, dialect: ChatDialect): Route => ({
    method,
    pattern,
    handler: (request) => pipeline.respond(dialect, request),
    errors: dialect.errorResponse,
    gatewayKeys: true,
  });
  return [
    entrance("POST", "/", nativeChat),
    entrance("POST", "/v1/chat/completions", openAIChat),
  ];
}
