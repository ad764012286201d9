/**
 * Streaming from the direct functions (ai-chat-direct, ai-walkthrough-direct):
 * sends the conversation with the user's access token and yields the reply
 * text as it arrives. Errors — a JSON 4xx/5xx before the stream, or an
 * `event: error` during it — are thrown as `LLMRouterError` with the
 * gateway's code (`LLMRouterAuthError` for 401/403).
 *
 * ```ts
 * for await (const text of streamChat({ url, accessToken, messages })) output.append(text);
 * ```
 */
import { SseDecoder } from "../../supabase/functions/_shared/runtime/sse.ts";
import { LLMRouterError } from "./errors.ts";
import { errorFromResponse } from "./error-from-response.ts";

/** A conversation turn. */
export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

/** What `streamChat` sends and where. */
export interface StreamChatOptions {
  /** Function URL, e.g. `${SUPABASE_URL}/functions/v1/ai-chat-direct`. */
  url: string;
  /** The signed-in user's access token (`session.access_token`). */
  accessToken: string;
  messages: ChatMessage[];
  /** ai-walkthrough-direct only: where the user is. */
  context?: {
    productArea: string;
    step: string;
    userSees?: string;
    stepNumber?: number;
    totalSteps?: number;
  };
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Streams the assistant's reply text, chunk by chunk. */
export async function* streamChat(
  options: StreamChatOptions,
): AsyncGenerator<string, void, undefined> {
  const { url, accessToken, signal, fetch: fetchImpl = globalThis.fetch, ...body } = options;
  const response = await fetchImpl(url, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) throw await errorFromResponse(response);
  const requestId = response.headers.get("x-request-id") ?? undefined;
  const failure = (code: string, message: string, retryable: boolean) =>
    new LLMRouterError({ code, message, status: response.status, retryable, requestId });
  const decoder = new SseDecoder();
  const reader = response.body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      const events = done ? decoder.flush() : decoder.push(value);
      for (const event of events) {
        if (event.event === "error") {
          const error = JSON.parse(event.data).error ?? {};
          throw failure(
            error.code ?? "STREAM_ERROR",
            error.message ?? "stream failed",
            error.retryable === true,
          );
        }
        if (event.data === "[DONE]") return;
        const text = JSON.parse(event.data).choices?.[0]?.delta?.content;
        if (typeof text === "string" && text !== "") yield text;
      }
      if (done) {
        throw failure("STREAM_TRUNCATED", "The stream ended before the reply was complete", true);
      }
    }
  } finally {
    reader.releaseLock();
    await response.body.cancel().catch(() => {});
  }
}
