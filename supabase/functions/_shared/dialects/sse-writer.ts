/**
 * Writing a committed stream to the caller as server-sent events, in any
 * dialect (its `StreamRenderer` turns events into SSE text). The `finish`
 * event is held until the stream has ended and then written with the cost
 * the router computed for it (its completion), so every dialect reports the
 * one cost. A failure after the first byte becomes the dialect's error event
 * and the end of the stream. A heartbeat comment goes out whenever nothing was written for a while, also
 * while a stream committed early still waits for its first event, so no
 * proxy on the way closes a quiet connection. When the caller goes away, the
 * upstream call is either read to its end in the background (so its usage is
 * recorded) or aborted.
 */
import { LLMError } from "../llm/errors.ts";
import type { RoutedStream } from "../llm/route-types.ts";
import type { LLMStreamEvent } from "../llm/types.ts";
import { batchesOf } from "../llm/event-batches.ts";
import type { StreamRenderer } from "./chat-dialect.ts";

/** An SSE comment: clients ignore it, connections see traffic. */
export const HEARTBEAT = ": keep-alive\n\n";

const bytes = new TextEncoder();

/** The stream to write: the router's events, how it ended (with its cost), and its abort. */
export type SseSource = Pick<RoutedStream, "events" | "completion" | "abort">;

/** How the body behaves around the caller. */
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
  /** Silence after which a heartbeat comment is written; 0 or absent: none. */
  heartbeatMs?: number;
}

/** The response body for `source`, written by `render`. */
export function sseBody(
  source: SseSource,
  render: StreamRenderer,
  options: SseBodyOptions = {},
): ReadableStream<Uint8Array> {
  // A batch at a time: what one upstream read carried goes out as one write.
  const iterator = batchesOf(source.events)[Symbol.asyncIterator]();
  let state: "open" | "done" | "gone" = "open";
  let pending: Promise<unknown> | undefined;
  let heartbeat: ReturnType<typeof setTimeout> | undefined;
  /** When the body was last written to (`Date.now()`: a builtin, cheap enough per event). */
  let lastWrite = 0;
  let finish: Extract<LLMStreamEvent, { type: "finish" }> | undefined;
  const signal = options.clientSignal;
  const heartbeatMs = options.heartbeatMs ?? 0;

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
  const stopped = (next: "done" | "gone") => {
    state = next;
    clearTimeout(heartbeat);
    signal?.removeEventListener("abort", clientGone);
  };
  const clientGone = () => {
    if (state !== "open") return;
    stopped("gone");
    if (options.onClientGone === "finish") {
      const work = drain();
      options.waitUntil ? options.waitUntil(work) : work.catch(() => {});
      return;
    }
    source.abort();
    void iterator.return?.()?.catch(() => {});
  };
  signal?.addEventListener("abort", clientGone, { once: true });

  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (heartbeatMs <= 0) return;
      // One timer per stream: a write only records the time; the timer, when it fires, writes
      // a heartbeat if the silence has lasted, else waits out the rest of it.
      const check = () => {
        if (state !== "open") return;
        const quiet = Date.now() - lastWrite;
        // A clock stepped back reads as a long silence: one early heartbeat, never none.
        if (quiet >= heartbeatMs || quiet < 0) {
          controller.enqueue(bytes.encode(HEARTBEAT));
          lastWrite = Date.now();
          heartbeat = setTimeout(check, heartbeatMs);
        } else {
          heartbeat = setTimeout(check, heartbeatMs - quiet);
        }
      };
      lastWrite = Date.now();
      heartbeat = setTimeout(check, heartbeatMs);
    },
    async pull(controller) {
      try {
        // Until something is written: a pull that enqueues nothing is not called again.
        while (state === "open") {
          const read = iterator.next();
          pending = read;
          const next = await read;
          pending = undefined;
          if (state !== "open") return;
          if (next.done) {
            stopped("done");
            if (finish) {
              // The completion has settled by now: the cost is the router's one computation.
              const end = await source.completion;
              const costUsd = end.ok ? end.costUsd : 0;
              controller.enqueue(bytes.encode(render.event({ ...finish, costUsd })));
            }
            controller.close();
            return;
          }
          let text = "";
          for (const event of next.value) {
            if (event.type === "finish") finish = event;
            else text += render.event(event);
          }
          if (text) {
            controller.enqueue(bytes.encode(text));
            lastWrite = Date.now();
            return;
          }
        }
      } catch (error) {
        pending = undefined;
        if (state !== "open") return;
        stopped("done");
        const failure = error instanceof LLMError
          ? error
          : new LLMError("PROVIDER_ERROR", "stream failed");
        controller.enqueue(bytes.encode(render.error(failure)));
        controller.close();
      }
    },
    cancel() {
      clientGone();
    },
  });
}
