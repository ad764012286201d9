/**
 * Audit events off the hot path: a BatchQueue of events, each stamped with
 * the time it happened, written to llm_audit_log in batches.
 */
import type { AuditEvent } from "./audit.ts";
import { BatchQueue, type BatchQueueOptions, type BatchQueueStats } from "./batch-queue.ts";

export type { QueueTimers } from "./batch-queue.ts";

/** How an AuditQueue batches, bounds, repairs and reports (defaults: 100 events, 5 s, 1,000 held). */
export type AuditQueueOptions = BatchQueueOptions<AuditEvent>;

/** Counters for metrics and tests. */
export type AuditQueueStats = BatchQueueStats;

/** A bounded queue of audit events written in batches by `write`. */
export class AuditQueue extends BatchQueue<AuditEvent> {
  /** Queues `event`, stamped now if it has no time, so a row written later still says when it happened. */
  override enqueue(event: AuditEvent): boolean {
    return super.enqueue(event.at === undefined ? { ...event, at: Date.now() } : event);
  }
}

/**
 * Flushes `queue` (the audit queue, or anything else that writes in the
 * background and can `close()`) when the runtime is about to stop: Supabase's edge runtime
 * dispatches `beforeunload` before it shuts an isolate down, and the write is
 * handed to `EdgeRuntime.waitUntil` (when present) so the isolate lives until
 * it is done. Returns a function that removes the listener.
 */
export function flushOnShutdown(
  queue: { close(): Promise<void> },
  target: EventTarget = globalThis,
): () => void {
  const onBeforeUnload = () => {
    const done = queue.close();
    const runtime = (globalThis as {
      EdgeRuntime?: { waitUntil?: (promise: Promise<unknown>) => unknown };
    }).EdgeRuntime;
    runtime?.waitUntil?.(done);
  };
  // Once: Deno dispatches `beforeunload` again whenever its event loop empties, so
  // a listener that retried a failing database each time would never let it exit.
  // No `unload` listener: nothing asynchronous can finish there.
  target.addEventListener("beforeunload", onBeforeUnload, { once: true });
  return () => target.removeEventListener("beforeunload", onBeforeUnload);
}
