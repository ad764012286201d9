/**
 * Relaying OpenAI's chat-completion SSE to the caller event by event. Each
 * complete upstream event is checked and forwarded as soon as it arrives; a
 * failure after the first byte becomes an explicit `event: error` and the
 * stream ends, so a cut-off answer is never mistaken for a finished one.
 *
 * This runs once per token, so it avoids per-chunk allocations it can: one
 * idle watchdog per stream instead of a timer per read, and the upstream
 * bytes forwarded as they are when a chunk holds only whole, valid events.
 */
import { SseDecoder } from "../runtime/sse.ts";
import { streamErrorEvent } from "../dialects/stream-error.ts";
import { redactSecrets } from "../runtime/redact.ts";
import { idleWatchdog } from "../runtime/idle-watchdog.ts";
import { type StreamUsage, utf8Length } from "./cost.ts";

/** How a relayed stream ended, for logs and usage accounting. */
export interface RelaySummary {
  outcome: "completed" | "error" | "client_aborted";
  errorCode?: string;
  events: number;
  usage?: StreamUsage;
  finishReason?: string;
  /** UTF-8 bytes of the text relayed: bounds the output tokens when no usage came. */
  outputBytes: number;
  /** When the first upstream event arrived (the `now` clock). */
  firstEventAt?: number;
}

/** Hooks the relay needs: stop the upstream, learn how it ended. */
export interface RelayControl {
  abortUpstream: (reason?: unknown) => void;
  idleTimeoutMs: number;
  onEnd: (summary: RelaySummary) => void;
  now: () => number;
}

type Chunk = { error?: { message?: unknown }; usage?: unknown; choices?: unknown };

/** Wraps an upstream SSE body into the stream the caller reads. */
export function relayChatStream(
  upstream: ReadableStream<Uint8Array>,
  control: RelayControl,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new SseDecoder();
  const encoder = new TextEncoder();
  const summary: RelaySummary = { outcome: "completed", events: 0, outputBytes: 0 };
  const idle = idleWatchdog(control.idleTimeoutMs, () => {
    control.abortUpstream(new Error("idle timeout"));
    reader.cancel().catch(() => {});
  });
  let ended = false;

  const end = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    tail: string | Uint8Array,
  ) => {
    ended = true;
    idle.stop();
    if (tail.length > 0) controller.enqueue(typeof tail === "string" ? encoder.encode(tail) : tail);
    controller.close();
    reader.cancel().catch(() => {});
    control.onEnd(summary);
  };
  const fail = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    prefix: string,
    code: string,
    message: string,
  ) => {
    summary.outcome = "error";
    summary.errorCode = code;
    control.abortUpstream(new Error(code));
    end(controller, prefix + streamErrorEvent({ code, message, retryable: true }));
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!ended) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (idle.fired) return fail(controller, "", "TIMEOUT", "The AI provider stopped sending");
          const why = error instanceof Error
            ? redactSecrets(error.message).slice(0, 160)
            : "read failed";
          return fail(
            controller,
            "",
            "STREAM_INTERRUPTED",
            `The AI provider connection broke (${why})`,
          );
        }
        if (idle.fired) return fail(controller, "", "TIMEOUT", "The AI provider stopped sending");
        idle.touch();
        const wholeBefore = !decoder.hasPartialEvent;
        const events = chunk.done ? decoder.flush() : decoder.push(chunk.value);
        // Whole, valid events only: the upstream bytes are already what we would write.
        const verbatim = !chunk.done && wholeBefore && !decoder.hasPartialEvent;
        const forwarded = (count: number) =>
          events.slice(0, count).map((e) => `data: ${e.data}\n\n`).join("");
        for (let i = 0; i < events.length; i++) {
          const event = events[i];
          const data = event.data;
          if (data === "[DONE]") {
            return end(controller, verbatim ? chunk.value! : forwarded(i) + "data: [DONE]\n\n");
          }
          let parsed: Chunk;
          try {
            parsed = JSON.parse(data);
          } catch {
            return fail(
              controller,
              forwarded(i),
              "MALFORMED_STREAM",
              "The AI provider sent an unreadable chunk",
            );
          }
          if (event.event === "error" || parsed?.error) {
            const message = redactSecrets(String(parsed?.error?.message ?? "stream error")).slice(
              0,
              300,
            );
            return fail(
              controller,
              forwarded(i),
              "PROVIDER_ERROR",
              `The AI provider failed mid-stream: ${message}`,
            );
          }
          if (summary.events++ === 0) summary.firstEventAt = control.now();
          observe(summary, parsed);
        }
        if (chunk.done) {
          return fail(
            controller,
            forwarded(events.length),
            "STREAM_TRUNCATED",
            "The AI provider ended the stream early",
          );
        }
        if (events.length > 0) {
          controller.enqueue(verbatim ? chunk.value : encoder.encode(forwarded(events.length)));
          return;
        }
      }
    },
    cancel(reason) {
      if (ended) return;
      ended = true;
      idle.stop();
      summary.outcome = "client_aborted";
      control.abortUpstream(reason);
      reader.cancel(reason).catch(() => {});
      control.onEnd(summary);
    },
  });
}

function observe(summary: RelaySummary, chunk: Chunk): void {
  const usage = chunk.usage as
    | {
      prompt_tokens?: number;
      completion_tokens?: number;
      prompt_tokens_details?: { cached_tokens?: number };
    }
    | null
    | undefined;
  if (usage) {
    summary.usage = {
      inputTokens: usage.prompt_tokens ?? 0,
      outputTokens: usage.completion_tokens ?? 0,
      cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    };
  }
  const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
  if (!choice) return;
  const content = choice.delta?.content;
  if (typeof content === "string") summary.outputBytes += utf8Length(content);
  if (typeof choice.finish_reason === "string") summary.finishReason = choice.finish_reason;
}
