/**
 * The gateway's client SDK, for browsers (as a bundled ES module), Deno and
 * Node 20+, on `fetch` and Web Streams only. Its request and answer types
 * come from the functions' own zod schemas, by type-only imports: the bundle
 * holds no zod, no router core and no SDK.
 *
 * ```ts
 * const client = createRouterClient({ url: `${SUPABASE_URL}/functions/v1`, supabase });
 * const answer = await client.routerCall({ prompt: "Hello", useCase: "general" });
 * for await (const event of client.routerCallStream({ prompt: "Hello" })) {
 *   if (event.type === "text") output.append(event.text);
 * }
 * ```
 */
import { createRouterClient } from "./client.ts";
import { invokeWith } from "./invoke-llm.ts";
import type {
  InvokeLLMParams,
  InvokeLLMResult,
  RouterClient,
  RouterClientOptions,
} from "./types.ts";

export { createRouterClient } from "./client.ts";
export { LLMRouterAuthError, LLMRouterError, LLMRouterTimeoutError } from "./errors.ts";
export type { LLMRouterErrorInit } from "./errors.ts";
export { type ChatMessage, streamChat, type StreamChatOptions } from "./stream-chat.ts";
export type {
  CallOptions,
  EmbedResult,
  HealthReport,
  InvokeLLMParams,
  InvokeLLMResult,
  ModelInfo,
  ProviderHealth,
  RateLimitInfo,
  RouteInfo,
  RouterAnswer,
  RouterClient,
  RouterClientOptions,
  RouterRequest,
  RouterStream,
  RouterStreamEvent,
  StreamResult,
  SupabaseAuthLike,
  ToolCall,
  Usage,
} from "./types.ts";

/** `invokeLLM` with a client, or with the options to build one for this call. */
export function invokeLLM(
  target: RouterClient | RouterClientOptions,
  params: InvokeLLMParams,
): Promise<InvokeLLMResult> {
  return invokeWith(createRouterClient, target, params);
}
