/**
 * Plays a list of SSE events as a response body, pacing them and applying the
 * stream faults (cut, reset-after, malformed, error-event, chunk-delay).
 */
import { encodeSse, SseEvent } from "../../supabase/functions/_shared/runtime/sse.ts";
import { FaultPlan } from "./fault-spec.ts";
import { ConnectionReset } from "./node-host.ts";

/** How a played stream ended, as the mock records it. */
export type StreamOutcome = "completed" | "aborted" | "cut" | "reset" | "error-event";

/** What to play and how to report. */
export interface SseScript {
  events: SseEvent[];
  /** The protocol's mid-stream error event. */
  errorEvent: SseEvent;
  onProgress: (eventsSent: number) => void;
  onEnd: (outcome: StreamOutcome) => void;
}

/** The response body playing `script` under `plan`. */
export function playSse(script: SseScript, plan: FaultPlan): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let sent = 0;
  let finished = false;
  const finish = (outcome: StreamOutcome) => {
    if (!finished) {
      finished = true;
      script.onEnd(outcome);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent > 0 && plan.chunkDelayMs) await new Promise((r) => setTimeout(r, plan.chunkDelayMs));
      if (finished) return;
      if (plan.errorEvent !== undefined && sent === plan.errorEvent) {
        controller.enqueue(encoder.encode(encodeSse(script.errorEvent)));
        controller.close();
        return finish("error-event");
      }
      if (plan.cut !== undefined && sent === plan.cut) {
        controller.close();
        return finish("cut");
      }
      if (plan.resetAfter !== undefined && sent === plan.resetAfter) {
        controller.error(new ConnectionReset());
        return finish("reset");
      }
      if (sent >= script.events.length) {
        controller.close();
        return finish("completed");
      }
      const event = script.events[sent];
      sent++;
      const wire = plan.malformed === sent
        ? encodeSse({
          ...event,
          data: event.data.slice(0, Math.max(1, event.data.length >> 1)) + "#not-json",
        })
        : encodeSse(event);
      controller.enqueue(encoder.encode(wire));
      script.onProgress(sent);
    },
    cancel() {
      finish("aborted");
    },
  });
}

/** The body of a non-streamed answer under `plan` (cut, reset-after, malformed apply to the JSON). */
export function playJson(
  json: string,
  plan: FaultPlan,
  onEnd: (outcome: StreamOutcome) => void,
): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(
    plan.malformed !== undefined ? json.slice(0, json.length >> 1) + "#not-json" : json,
  );
  const half = bytes.slice(0, bytes.length >> 1);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (plan.resetAfter !== undefined) {
        controller.enqueue(half);
        controller.error(new ConnectionReset());
        return onEnd("reset");
      }
      if (plan.cut !== undefined) {
        controller.enqueue(half);
        controller.close();
        return onEnd("cut");
      }
      controller.enqueue(bytes);
      controller.close();
      onEnd("completed");
    },
  });
}
