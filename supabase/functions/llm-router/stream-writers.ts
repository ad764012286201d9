/**
 * Writing a routed stream to the caller as server-sent events, in the native
 * format (`{"type": …}` events) or as OpenAI `chat.completion.chunk`s. A
 * failure after the first byte becomes `event: error` and the end of the
 * stream. When the caller goes away, the upstream call is either read to its
 * end in the background (so its usage is recorded) or aborted.
 */
import type { NativeStreamError, NativeStreamEvent } from "../_shared/dialects/native-schema.ts";
import { encodeSse } from "../_shared/runtime/sse.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { usageToOpenAI } from "../_shared/llm/openai-wire.ts";
import type { RoutedStream } from "../_shared/llm/router.ts";
import type { LLMStreamEvent, LLMUsage } from "../_shared/llm/types.ts";
import type { RouterRequestContext } from "./context.ts";

/** Turns one stream event into zero or more SSE data payloads. */
export type EventEncoder = (event: LLMStreamEvent) => string[];

/** The `event: error` that ends a failed stream. */
export function sseError(error: LLMError): string {
  const data: NativeStreamError = {
    error: { code: error.code, message: error.message, retryable: error.retryable },
  };
  return encodeSse({ event: "error", data: JSON.stringify(data) });
}

/** Native events (`NativeStreamEvent`: `{"type":"start"|"text"|"tool-call"|"finish", …}`), then `[DONE]`. */
export function nativeEncoder(costOf: (usage: LLMUsage) => number): EventEncoder {
  const data = (event: NativeStreamEvent) => JSON.stringify(event);
  return (event) => {
    switch (event.type) {
      case "start":
        return [data({ type: "start", provider: event.provider, model: event.model })];
      case "text-delta":
        return [data({ type: "text", text: event.text })];
      case "tool-call-delta":
        return [data({ type: "tool-call", ...withoutType(event) })];
      case "finish":
        return [
          data({
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

/** What happens to a stream whose caller left. */
export interface SseBodyOptions {
  /** The caller's signal: its abort means the client left. */
  clientSignal?: AbortSignal;
  /**
   * `finish`: keep reading the upstream to its end in the background, so its
   * usage and cost are recorded; `abort`: stop the upstream call at once.
   */
  onClientGone?: "finish" | "abort";
  /** Keeps a background read alive after the response (EdgeRuntime.waitUntil). */
  waitUntil?: (work: Promise<unknown>) => void;
}

/** The stream options of a request in `context`. */
export function streamOptions(context: RouterRequestContext): SseBodyOptions {
  return {
    clientSignal: context.signal,
    onClientGone: context.world.guardEnv.onClientDisconnect,
    waitUntil: context.world.waitUntil,
  };
}

/** The response body for `routed`, encoded by `encode`. */
export function sseBody(
  routed: RoutedStream,
  encode: EventEncoder,
  options: SseBodyOptions = {},
): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder();
  const iterator = routed.events[Symbol.asyncIterator]();
  let state: "open" | "done" | "gone" = "open";
  let pending: Promise<unknown> | undefined;
  const signal = options.clientSignal;

  const drain = async () => {
    // A read still in flight for the response goes first; then everything that is left.
    await pending?.catch(() => {});
    try {
      while (!(await iterator.next()).done) {
        // Nobody reads these; the stream's completion records the usage.
      }
    } catch {
      // The completion reports the failure.
    }
  };
  const clientGone = () => {
    if (state !== "open") return;
    state = "gone";
    signal?.removeEventListener("abort", clientGone);
    if (options.onClientGone === "finish") {
      const work = drain();
      options.waitUntil ? options.waitUntil(work) : work.catch(() => {});
      return;
    }
    routed.abort();
    void iterator.return?.()?.catch(() => {});
  };
  signal?.addEventListener("abort", clientGone, { once: true });
  const finished = () => {
    state = "done";
    signal?.removeEventListener("abort", clientGone);
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (state !== "open") return;
      try {
        const read = iterator.next();
        pending = read;
        const next = await read;
        pending = undefined;
        if (state !== "open") return;
        if (next.done) {
          finished();
          controller.close();
          return;
        }
        controller.enqueue(
          bytes.encode(encode(next.value).map((data) => `data: ${data}\n\n`).join("")),
        );
      } catch (error) {
        pending = undefined;
        if (state !== "open") return;
        finished();
        const failure = error instanceof LLMError
          ? error
          : new LLMError("PROVIDER_ERROR", "stream failed");
        controller.enqueue(bytes.encode(sseError(failure)));
        controller.close();
      }
    },
    cancel() {
      clientGone();
    },
  });
}
