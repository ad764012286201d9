/**
 * A stream's events travel in batches: everything one upstream read carried
 * goes through the router, and out to the caller, with one await and one
 * write — not one per event. Per event, a 20-token answer would cost ~25
 * awaits in each layer and ~25 socket writes; per batch it is usually one.
 * Consumers that want single events still iterate them one by one.
 */
import type { LLMStreamEvent } from "./types.ts";

/** Events that can also be read a batch at a time (each batch non-empty, in order). */
export interface EventBatches extends AsyncIterable<LLMStreamEvent> {
  batches(): AsyncIterable<LLMStreamEvent[]>;
}

/** `source`'s batches as events that can be read either way (once: it is one stream). */
export function batchedEvents(source: AsyncIterable<LLMStreamEvent[]>): EventBatches {
  return {
    batches: () => source,
    async *[Symbol.asyncIterator]() {
      for await (const batch of source) yield* batch;
    },
  };
}

/** The batches of `events`: its own when it has them, else one event per batch. */
export function batchesOf(
  events: AsyncIterable<LLMStreamEvent> | EventBatches,
): AsyncIterable<LLMStreamEvent[]> {
  if ("batches" in events && typeof events.batches === "function") return events.batches();
  return (async function* () {
    for await (const event of events) yield [event];
  })();
}
