/**
 * What requests leave behind, written off the hot path: llm_usage rows and
 * audit events in batched queues (with a database), and request counters
 * flushed to the store for llm-metrics. A row a queue sets aside is counted
 * in the metrics when it happens.
 */
import type { Db } from "../../_shared/store/db.ts";
import type { StateStore } from "../../_shared/store/state-store.ts";
import type { Logger } from "../../_shared/runtime/log.ts";
import type { WaitUntil } from "../../_shared/runtime/background.ts";
import { errorMessage } from "../../_shared/runtime/error-message.ts";
import { type RecordQueues, recordQueues } from "../../_shared/data/record-queues.ts";
import { flushOnShutdown } from "../../_shared/data/audit-queue.ts";
import { MetricsRecorder } from "../../_shared/metrics/recorder.ts";
import type { LabelVocabulary } from "../../_shared/metrics/sample.ts";

/** The queues and the metrics recorder. */
export interface Records {
  /** llm_usage rows and audit events; both absent without a database. */
  queues: RecordQueues;
  metrics: MetricsRecorder;
  /** Writes what is queued now; the world keeps running. */
  flush(): Promise<void>;
  /** Writes what is queued and stops the timers (also on isolate shutdown). */
  close(): Promise<void>;
}

/** Builds the records over `db` and `store`; `vocabulary` bounds the metrics' labels. */
export function recordsOver(
  db: Db | undefined,
  store: StateStore,
  vocabulary: LabelVocabulary,
  deps: { log: Logger; waitUntil: WaitUntil; now: () => number },
): Records {
  const { log, waitUntil, now } = deps;
  const metrics = new MetricsRecorder(store, vocabulary, {
    waitUntil,
    now,
    onWriteError: (error) => log.warn("metrics_write_failed", { detail: errorMessage(error) }),
  });
  const queues = recordQueues(db, {
    log,
    waitUntil,
    onSetAside: (queue, rows) => metrics.countSetAside(queue, rows),
  });
  const closeAll = async () => {
    // Queues first: a row they set aside is counted in the metrics closed after them.
    await queues.close();
    await metrics.close();
  };
  const stopShutdownFlush = flushOnShutdown({ close: closeAll });
  return {
    queues,
    metrics,
    flush: async () => {
      await queues.flush();
      await metrics.flush();
    },
    close: async () => {
      stopShutdownFlush();
      await closeAll();
    },
  };
}
