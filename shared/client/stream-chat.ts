/**
 * Browser/server client for the direct streaming functions: sends the
 * conversation with the user's access token and yields the reply text as it
 * arrives. Errors — a JSON 4xx/5xx before the stream, or an `event: error`
 * during it — are thrown as `GatewayError` with the gateway's code.
 *
 * ```ts
 * for await (const text of streamChat({ url, accessToken, messages })) output.append(text);
 * ```
 */
import { SseDecoder } from "../../supabase/functions/_shared/http/sse.ts";

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

/** A failure reported by the gateway, with its stable code. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retryable = false,
    /** Milliseconds the gateway asked to wait before retrying, when it did. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

/** Streams the assistant's reply text, chunk by chunk. */
export async function* streamChat(
  options: StreamChatOptions,
): AsyncGenerator<string, void, undefined> {
  const { url, accessToken, signal, fetch: fetchImpl = fetch, ...body } = options;
  const response = await fetchImpl(url, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) throw await errorFromResponse(response);
  const decoder = new SseDecoder();
  const reader = response.body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      const events = done ? decoder.flush() : decoder.push(value);
      for (const event of events) {
        if (event.event === "error") {
          const error = JSON.parse(event.data).error ?? {};
          throw new GatewayError(
            error.code ?? "STREAM_ERROR",
            error.message ?? "stream failed",
            200,
            error.retryable === true,
          );
        }
        if (event.data === "[DONE]") return;
        const text = JSON.parse(event.data).choices?.[0]?.delta?.content;
        if (typeof text === "string" && text !== "") yield text;
      }
      if (done) {
        throw new GatewayError(
          "STREAM_TRUNCATED",
          "The stream ended before the reply was complete",
          200,
          true,
        );
      }
    }
  } finally {
    reader.releaseLock();
    await response.body.cancel().catch(() => {});
  }
}

async function errorFromResponse(response: Response): Promise<GatewayError> {
  const retryAfter = Number(response.headers.get("retry-after"));
  const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0
    ? retryAfter * 1000
    : undefined;
  try {
    const { error } = await response.json();
    return new GatewayError(
      error.code,
      error.message,
      response.status,
      error.retryable === true,
      retryAfterMs,
    );
  } catch {
    return new GatewayError(
      "HTTP_ERROR",
      `HTTP ${response.status}`,
      response.status,
      response.status >= 500,
      retryAfterMs,
    );
  }
}
