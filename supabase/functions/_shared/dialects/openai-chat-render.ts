/**
 * Answers in OpenAI's chat completions format: a `chat.completion` object,
 * `chat.completion.chunk` events (with the usage chunk when asked for) then
 * `[DONE]`, and errors as `{error: {message, type, code, param}}`, so the
 * official SDKs parse all three unchanged. Reasoning text goes where DeepSeek
 * and OpenRouter put it (`message.reasoning_content`, `delta.reasoning_content`),
 * reasoning tokens in `usage.completion_tokens_details.reasoning_tokens`.
 */
import { type HttpError, jsonResponse } from "../http/errors.ts";
import type { ChatRenderer, StreamRenderer } from "./chat-dialect.ts";
import { chatCompletionToOpenAI, usageToOpenAI } from "./openai-wire.ts";
import { streamErrorEvent } from "./stream-error.ts";

/** What every answer of one request shares. */
export interface OpenAIAnswerIds {
  /** `chatcmpl-…` */
  id: string;
  /** Unix seconds. */
  created: number;
  /** `stream_options.include_usage`. */
  includeUsage: boolean;
}

/** The renderer of one chat completions request. */
export function openAIChatRenderer(ids: OpenAIAnswerIds): ChatRenderer {
  return {
    json: (answer) => chatCompletionToOpenAI(answer, ids.id, ids.created),
    stream: (route) => chunkWriter(ids, route.model),
  };
}

/** `chat.completion.chunk` events for a stream served by `model`. */
function chunkWriter(
  { id, created, includeUsage }: OpenAIAnswerIds,
  model: string,
): StreamRenderer {
  // Every chunk shares its envelope: build it once, fill in the delta per event.
  const head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk",` +
    `"created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,"delta":`;
  const tail = includeUsage ? `,"usage":null}\n\n` : "}\n\n";
  const chunk = (delta: string, finishReason: string | null) =>
    `${head}${delta},"logprobs":null,"finish_reason":${
      finishReason === null ? "null" : JSON.stringify(finishReason)
    }}]${tail}`;
  const started = new Set<number>();
  return {
    event(event) {
      switch (event.type) {
        case "start":
          return chunk('{"role":"assistant","content":""}', null);
        case "text-delta":
          return chunk(`{"content":${JSON.stringify(event.text)}}`, null);
        case "reasoning-delta":
          // DeepSeek's and OpenRouter's field for reasoning text: the SDKs pass it through.
          return chunk(`{"reasoning_content":${JSON.stringify(event.text)}}`, null);
        case "tool-call-delta": {
          const first = !started.has(event.index);
          started.add(event.index);
          const call = {
            index: event.index,
            ...(first ? { id: event.id ?? `call_${event.index}`, type: "function" } : {}),
            function: {
              ...(first ? { name: event.name ?? "" } : {}),
              arguments: event.argumentsDelta,
            },
          };
          return chunk(JSON.stringify({ tool_calls: [call] }), null);
        }
        case "finish": {
          const usage = includeUsage
            ? `data: ${
              JSON.stringify({
                id,
                object: "chat.completion.chunk",
                created,
                model,
                choices: [],
                usage: usageToOpenAI(event.usage),
              })
            }\n\n`
            : "";
          return `${chunk("{}", event.finishReason)}${usage}data: [DONE]\n\n`;
        }
        default:
          // Signatures and redacted thinking have no place in chat completions.
          return "";
      }
    },
    error: streamErrorEvent,
  };
}

/**
 * An error response OpenAI's SDKs parse: `{error: {message, type, code, param}}`
 * with the gateway's code, so `err.code` in the SDK is the gateway's code.
 */
export function openAIErrorResponse(error: HttpError): Response {
  const type = error.status === 401
    ? "authentication_error"
    : error.status === 429
    ? "rate_limit_error"
    : error.status < 500
    ? "invalid_request_error"
    : "api_error";
  return jsonResponse(
    {
      error: {
        message: error.message,
        type,
        code: error.code,
        param: typeof error.details.field === "string" ? error.details.field : null,
        ...error.details,
      },
    },
    error.status,
    error.headers,
  );
}
