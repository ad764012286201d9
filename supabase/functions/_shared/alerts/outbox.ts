/**
 * Where the guards' events go: `publish` never waits and never throws. In
 * the background it queues one delivery per subscribed destination, then
 * (where the isolate can run them) starts delivering at once, so alerts go
 * out without pg_net too; the insert trigger and the sweep also pick them
 * up, and the job lease keeps two workers off one delivery.
 */
import type { Logger } from "../runtime/log.ts";
import type { WaitUntil } from "../runtime/background.ts";
import { errorMessage } from "../runtime/error-message.ts";
import type { AlertEvent } from "./events.ts";

/** What the outbox uses. */
export interface AlertOutboxDeps {
  /** Queues the deliveries of an event; returns their ids. */
  enqueue(event: AlertEvent): Promise<string[]>;
  /** Runs up to `count` due deliveries now; absent: the trigger and the sweep will. */
  deliverNow?: (count: number) => Promise<unknown>;
  waitUntil: WaitUntil;
  log: Logger;
}

/** Publishes alert events off the hot path. One per isolate. */
export class AlertOutbox {
  constructor(private readonly deps: AlertOutboxDeps) {}

  /** Queues `event` (or the event it resolves to; undefined: nothing) for delivery, in the background. */
  publish(event: AlertEvent | undefined | Promise<AlertEvent | undefined>): void {
    const { enqueue, deliverNow, waitUntil, log } = this.deps;
    waitUntil(
      (async () => {
        let ids: string[];
        const ready = await event;
        if (!ready) return;
        // Not `event`: that is the log line's own name.
        const fields = { alert: ready.type, eventId: ready.id };
        try {
          ids = await enqueue(ready);
        } catch (error) {
          log.warn("alert_queue_failed", { ...fields, detail: errorMessage(error) });
          return;
        }
        log.info("alert_queued", { ...fields, deliveries: ids.length });
        if (ids.length === 0 || !deliverNow) return;
        // Queued is safe: a delivery that cannot start now waits for the sweep.
        await deliverNow(ids.length).catch((error) =>
          log.warn("alert_delivery_deferred", { ...fields, detail: errorMessage(error) })
        );
      })().catch((error) => log.warn("alert_queue_failed", { detail: errorMessage(error) })),
    );
  }
}
