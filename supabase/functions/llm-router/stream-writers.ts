/**
 * Writing a routed stream to the caller as server-sent events, in the native
 * format (`{"type": …}` events) or as OpenAI `chat.completion.chunk`s. A
 * failure after the first byte becomes `event: error` and the end of the
 * stream; the caller going away aborts the upstream call.
 */
import { encodeSse } from "../_shared/http/sse.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { usageToOpenAI } from "../_shared/llm/openai-wire.ts";
import type { RoutedStream } from "../_shared/llm/router.ts";
import type { LLMStreamEvent, LLMUsage } from "../_shared/llm/types.ts";

/** Turns one stream event into zero or more SSE data payloads. */
type EventEncoder = (event: LLMStreamEvent) => string[];

/** The `event: error` that ends a failed stream. */
export function sseError(error: LLMError): string {
  return encodeSse({
    event: "error",
    data: JSON.stringify({
      error: { code: error.code, message: error.message, retryable: error.retryable },
    }),
  });
}

/** Native events: `{"type":"start"|"text"|"tool-call"|"finish", …}`, then `[DONE]`. */
export function nativeEncoder(costOf: (usage: LLMUsage) => number): EventEncoder {
  return (event) => {
    switch (event.type) {
      case "start":
        return [JSON.stringify({ type: "start", provider: event.provider, model: event.model })];
      case "text-delta":
        return [JSON.stringify({ type: "text", text: event.text })];
      case "tool-call-delta":
        return [JSON.stringify({ type: "tool-call", ...withoutType(event) })];
      case "finish":
        return [
          JSON.stringify({
            type: "finish",
            finishReason: event.finishReason,
            usage: event.usage,
            costUsd: costOf(event.usage),
          }),
          "[DONE]",
        ];
    }
  };
}

function withoutType(event: Extract<LLMStreamEvent, { type: "tool-call-delta" }>) {
  const { type: _type, ...rest } = event;
  return rest;
}

/** OpenAI `chat.completion.chunk` events, with the usage chunk when asked for, then `[DONE]`. */
export function openAIEncoder(
  id: string,
  created: number,
  model: string,
  includeUsage: boolean,
): EventEncoder {
  // Every chunk shares its envelope: build it once, fill in the delta per event.
  const head =
    `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},` +
    `"model":${JSON.stringify(model)},"choices":[{"index":0,"delta":`;
  const tail = includeUsage ? `,"usage":null}` : "}";
  const chunk = (delta: string, finishReason: string | null) =>
    `${head}${delta},"logprobs":null,"finish_reason":${
      finishReason === null ? "null" : JSON.stringify(finishReason)
    }}]${tail}`;
  const started = new Set<number>();
  return (event) => {
    switch (event.type) {
      case "start":
        return [chunk('{"role":"assistant","content":""}', null)];
      case "text-delta":
        return [chunk(`{"content":${JSON.stringify(event.text)}}`, null)];
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
        return [chunk(JSON.stringify({ tool_calls: [call] }), null)];
      }
      case "finish": {
        const out = [chunk("{}", event.finishReason)];
        if (includeUsage) {
          out.push(
            JSON.stringify({
              id,
              object: "chat.completion.chunk",
              created,
              model,
              choices: [],
              usage: usageToOpenAI(event.usage),
            }),
          );
        }
        out.push("[DONE]");
        return out;
      }
    }
  };
}

/** The response body for `routed`, encoded by `encode`. */
export function sseBody(routed: RoutedStream, encode: EventEncoder): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder();
  const iterator = routed.events[Symbol.asyncIterator]();
  let closed = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) {
          closed = true;
          controller.close();
          return;
        }
        controller.enqueue(
          bytes.encode(encode(next.value).map((data) => `data: ${data}\n\n`).join("")),
        );
      } catch (error) {
        closed = true;
        const failure = error instanceof LLMError
          ? error
          : new LLMError("PROVIDER_ERROR", "stream failed");
        controller.enqueue(bytes.encode(sseError(failure)));
        controller.close();
      }
    },
    async cancel() {
      if (closed) return;
      closed = true;
      routed.abort();
      await iterator.return?.();
    },
  });
}
