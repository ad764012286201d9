/**
 * llm-router: the gateway. Provider-agnostic chat, streaming, tool calls and
 * embeddings behind the native API (`POST /functions/v1/llm-router`) and an
 * OpenAI-compatible one (`/functions/v1/llm-router/v1/...`), with routing by
 * use case, agent and account, retries, fallbacks and circuit breakers.
 */
import { processEnv } from "../_shared/runtime/env.ts";
import { jsonLogger } from "../_shared/runtime/log.ts";
import { serveIfEntry } from "../_shared/http/serve.ts";
import { createRouterApp } from "./app.ts";

/** The function's request handler. */
export const handler = createRouterApp({ env: processEnv(), log: jsonLogger("llm-router") });

serveIfEntry(import.meta.main, handler);
