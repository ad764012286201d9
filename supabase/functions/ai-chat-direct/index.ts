/**
 * ai-chat-direct: user-facing chat streamed straight from OpenAI.
 *
 * POST `{messages: [{role, content}], temperature?, maxTokens?}` with a user
 * JWT → `text/event-stream` of OpenAI chat-completion chunks. Imports nothing
 * but the small HTTP helpers, so it boots in milliseconds.
 */
import { createDirectHandler, DirectFunctionSpec } from "../_shared/direct/handler.ts";
import { processEnv } from "../_shared/runtime/env.ts";
import { jsonLogger } from "../_shared/runtime/log.ts";
import { serveIfEntry } from "../_shared/http/serve.ts";
import { chatSystemPrompt } from "./prompt.ts";

/** What ai-chat-direct adds to the shared direct pipeline: its model setting and prompt. */
export const chatDirectSpec: DirectFunctionSpec<undefined> = {
  name: "ai-chat-direct",
  modelEnv: "DIRECT_CHAT_MODEL",
  extraFields: [],
  parseExtra: () => undefined,
  systemPrompt: (_extra, config) => chatSystemPrompt(config),
};

/** The function's request handler. */
export const handler = createDirectHandler(chatDirectSpec, {
  env: processEnv(),
  log: jsonLogger("ai-chat-direct"),
});

serveIfEntry(import.meta.main, handler);
