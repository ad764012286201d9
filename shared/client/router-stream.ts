/**
 * `routerCallStream`'s answer: the native API's server-sent events as typed
 * events, read with the project's SSE decoder. Every failure, before or
 * during the stream, arrives as one last `error` event (iteration does not
 * throw); the caller's abort ends iteration quietly.
 */
import type {
  NativeStreamError,
  NativeStreamEvent,
} from "../../supabase/functions/_shared/dialects/native-schema.ts";
import { SseDecoder } from "../../supabase/functions/_shared/runtime/sse.ts";
import { LLMRouterError } from "./errors.ts";
import { routeFromHeaders } from "./route-info.ts";
import type {
  RouteInfo,
  RouterStream,
  RouterStreamEvent,
  StreamResult,
  ToolCall,
} from "./types.ts";
import { errorMessage } from "../../supabase/functions/_shared/runtime/error-message.ts";

/** Opens the stream (with retries and the first-byte deadline); resolves with the 200 response. */
export type StreamOpener = (signal: AbortSignal) => Promise<Response>;

/** A native stream that starts on first read (or `text()`/`final()`), read once. */
export class NativeRouterStream implements RouterStream {
  readonly #open: StreamOpener;
  readonly #callerSignal?: AbortSignal;
  readonly #controller = new AbortController();
  #used = false;
  #startedAt = 0;

  constructor(open: StreamOpener, callerSignal?: AbortSignal) {
    this.#open = open;
    this.#callerSignal = callerSignal;
  }

  /** Stops the call (the gateway sees the connection close); iteration ends without an error event. */
  abort(): void {
    this.#controller.abort();
  }

  [Symbol.asyncIterator](): AsyncIterator<RouterStreamEvent> {
    if (this.#used) throw new Error("A RouterStream can be read only once");
    this.#used = true;
    return this.#events();
  }

  /** The whole text; rejects with the error of an error event. */
  async text(): Promise<string> {
    return (await this.final()).text;
  }

  /** Consumes the stream into text, tool calls, usage, cost and timings. */
  async final(): Promise<StreamResult> {
    let text = "";
    const calls = new Map<number, ToolCall>();
    const result: Omit<StreamResult, "text" | "toolCalls" | "totalMs"> = {};
    const sinceStart = () => performance.now() - this.#startedAt;
    for await (const event of this) {
      switch (event.type) {
        case "route":
          result.route = event.route;
          break;
        case "text":
          result.firstTokenMs ??= sinceStart();
          text += event.text;
          break;
        case "tool-call": {
          result.firstTokenMs ??= sinceStart();
          const call = calls.get(event.index) ?? { id: "", name: "", arguments: "" };
          if (event.id) call.id = event.id;
          if (event.name) call.name = event.name;
          call.arguments += event.argumentsDelta;
          calls.set(event.index, call);
          break;
        }
        case "finish":
          result.finishReason = event.finishReason;
          result.usage = event.usage;
          result.costUsd = event.costUsd;
          break;
        case "error":
          throw event.error;
      }
    }
    const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([index, call]) => ({
      ...call,
      id: call.id || `call_${index}`,
    }));
    return { text, toolCalls, ...result, totalMs: sinceStart() };
  }

  async *#events(): AsyncGenerator<RouterStreamEvent, void, undefined> {
    this.#startedAt = performance.now();
    const signal = this.#controller.signal;
    const callerSignal = this.#callerSignal;
    if (callerSignal?.aborted) return;
    const onCallerAbort = () => this.abort();
    callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // A fetch ties its body to the signal; cancelling too ends a read in flight with any fetch.
    const onAbort = () => void reader?.cancel().catch(() => {});
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      let response: Response;
      try {
        response = await this.#open(signal);
      } catch (error) {
        if (signal.aborted) return;
        yield { type: "error", error: asRouterError(error) };
        return;
      }
      const failure = (code: string, message: string, retryable: boolean) =>
        new LLMRouterError({
          code,
          message,
          status: response.status,
          retryable,
          requestId: response.headers.get("x-request-id") ?? undefined,
        });
      if (!response.body) {
        yield {
          type: "error",
          error: failure("MALFORMED_STREAM", "The answer has no body", false),
        };
        return;
      }
      let route: RouteInfo = routeFromHeaders(response.headers);
      let routeSent = false;
      reader = response.body.getReader();
      const decoder = new SseDecoder();
      while (true) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
          if (signal.aborted) return;
        } catch (error) {
          if (signal.aborted) return;
          const reason = errorMessage(error);
          yield {
            type: "error",
            error: failure("STREAM_INTERRUPTED", `The stream broke off: ${reason}`, true),
          };
          return;
        }
        for (const sse of chunk.done ? decoder.flush() : decoder.push(chunk.value)) {
          if (sse.event === "error") {
            yield { type: "error", error: streamError(sse.data, failure) };
            return;
          }
          if (sse.data === "[DONE]") return;
          let event: NativeStreamEvent;
          try {
            event = JSON.parse(sse.data);
          } catch {
            yield {
              type: "error",
              error: failure("MALFORMED_STREAM", "The stream sent an event that is not JSON", true),
            };
            return;
          }
          if (event.type === "start") {
            // The headers name the catalog model (as a JSON answer's `model`); the event fills
            // in where they are missing (a browser sees only the headers CORS exposes).
            route = { provider: event.provider, model: event.model, ...route };
          }
          if (!routeSent) {
            routeSent = true;
            yield { type: "route", route };
          }
          if (event.type === "text") yield { type: "text", text: event.text };
          else if (event.type === "tool-call") yield { ...event, type: "tool-call" };
          else if (event.type === "finish") yield { ...event, type: "finish" };
        }
        if (chunk.done) {
          yield {
            type: "error",
            error: failure(
              "STREAM_TRUNCATED",
              "The stream ended before the answer was complete",
              true,
            ),
          };
          return;
        }
      }
    } finally {
      callerSignal?.removeEventListener("abort", onCallerAbort);
      signal.removeEventListener("abort", onAbort);
      // A consumer that stops early closes the connection, so the gateway sees it leave.
      await reader?.cancel().catch(() => {});
    }
  }
}

/** The `LLMRouterError` of an `event: error` payload. */
function streamError(
  data: string,
  failure: (code: string, message: string, retryable: boolean) => LLMRouterError,
): LLMRouterError {
  try {
    const { error } = JSON.parse(data) as NativeStreamError;
    return failure(error.code, error.message, error.retryable === true);
  } catch {
    return failure("STREAM_ERROR", "The stream failed", false);
  }
}

function asRouterError(error: unknown): LLMRouterError {
  return error instanceof LLMRouterError ? error : new LLMRouterError({
    code: "CLIENT_ERROR",
    message: errorMessage(error),
    status: 0,
    cause: error,
  });
}
