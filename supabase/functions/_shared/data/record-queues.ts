/**
 * The two queues every function that serves LLM requests writes its records
 * through: llm_usage rows and audit events, batched off the hot path, with
 * rows the database refuses repaired or set aside (never blocking the queue)
 * and logged by count, code and request id, never by content.
 */
import type { WaitUntil } from "../runtime/background.ts";
import { errorMessage } from "../runtime/error-message.ts";
import type { Logger } from "../runtime/log.ts";
import type { Db } from "../store/db.ts";
import { dbErrorCode } from "../store/db-errors.ts";
import { AuditLog, repairAuditEvent } from "./audit.ts";
import { AuditQueue } from "./audit-queue.ts";
import { BatchQueue } from "./batch-queue.ts";
import { repairUsageRecord, type UsageRecord, UsageRecorder } from "./usage.ts";

/** Which queue a record went through. */
export type RecordQueueName = "usage" | "audit";

/** What the queues need. */
export interface RecordQueuesDeps {
  log: Logger;
  waitUntil: WaitUntil;
  /** Told how many rows a queue set aside (metrics count them across isolates). */
  onSetAside?: (queue: RecordQueueName, rows: number) => void;
}

/** The usage and audit queues over one database; both absent without one. */
export interface RecordQueues {
  /** llm_usage rows, written in batches (100 rows or 1 s). */
  usage?: BatchQueue<UsageRecord>;
  /** Audit events, written in batches (100 events or 5 s). */
  audit?: AuditQueue;
  /** Writes what is queued now. */
  flush(): Promise<void>;
  /** Writes what is queued and stops the timers. */
  close(): Promise<void>;
}

/** Request ids are safe to log; anything else a row holds may be hostile input. */
const LOGGABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the queues over `db` (none without a database). */
export function recordQueues(db: Db | undefined, deps: RecordQueuesDeps): RecordQueues {
  if (!db) return { flush: async () => {}, close: async () => {} };
  const { log, waitUntil } = deps;
  const writeFailed = (what: string) => (error: unknown, rows: number) =>
    log.error(what, { rows, detail: errorMessage(error) });
  const setAside = (queue: RecordQueueName) =>
  (
    rows: number,
    error: unknown,
    items: readonly { requestId?: string }[],
  ) => {
    log.error(`${queue}_row_set_aside`, {
      rows,
      code: dbErrorCode(error),
      requestIds: items.map((item) => item.requestId ?? "").filter((id) => LOGGABLE_ID.test(id))
        .join(",") || undefined,
    });
    deps.onSetAside?.(queue, rows);
  };
  const recorder = new UsageRecorder(db);
  // One insert per batch instead of one per request; a second's delay is fine for accounting.
  const usage = new BatchQueue<UsageRecord>((rows) => recorder.recordBatch(rows), {
    batchSize: 100,
    flushIntervalMs: 1_000,
    capacity: 10_000,
    waitUntil,
    onWriteError: writeFailed("usage_write_failed"),
    repair: repairUsageRecord,
    onSetAside: setAside("usage"),
  });
  const auditLog = new AuditLog(db);
  const audit = new AuditQueue((events) => auditLog.recordBatch(events), {
    waitUntil,
    onWriteError: writeFailed("audit_write_failed"),
    repair: repairAuditEvent,
    onSetAside: setAside("audit"),
  });
  return {
    usage,
    audit,
    flush: async () => {
      await Promise.all([usage.flush(), audit.flush()]);
    },
    close: async () => {
      await Promise.all([usage.close(), audit.close()]);
    },
  };
}
