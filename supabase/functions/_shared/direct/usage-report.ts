/**
 * What each request on the direct (OpenAI) path leaves behind, off the hot
 * path: an llm_usage row (queued, written in batches) and a metrics sample
 * (added to the StateStore in batches), so llm-metrics counts direct traffic
 * and a new budget window seeds from its spend as from routed spend. A
 * request refused by its user's rate limit adds to metrics only: a flood must
 * not become a flood of database writes (llm-router does the same).
 */
import type { Logger } from "../runtime/log.ts";
import type { UsageRecord } from "../data/usage.ts";
import type { RequestSample } from "../metrics/sample.ts";
import type { StreamCost } from "./cost.ts";
import type { GuardRefusal } from "./guards.ts";
import type { RelaySummary } from "./relay.ts";

/** Where the records go. */
export interface DirectReportSinks {
  /** The llm_usage queue; undefined without a database. */
  usage?: { enqueue(record: UsageRecord): boolean };
  metrics: { record(sample: RequestSample): void };
  log: Logger;
}

/** What is known of a request before it is guarded. */
export interface DirectRequestFacts {
  requestId: string;
  userId: string;
  /** The function's name: the use case its rows and samples are counted under. */
  useCase: string;
  model: string;
  /** When the request arrived (the `now` clock). */
  started: number;
}

const PROVIDER = "openai";

/** Reports one direct request, however it ends. */
export class DirectRequestReport {
  /** Set once the guards resolved it. */
  accountId?: string;

  constructor(
    private readonly sinks: DirectReportSinks,
    private readonly facts: DirectRequestFacts,
    private readonly now: () => number,
  ) {}

  /** Refused by a guard before any upstream call. */
  refused(refusal: GuardRefusal): void {
    this.accountId ??= refusal.accountId;
    this.#sample({ outcome: "error", errorCode: refusal.code, attempts: 0 }, refusal.rejected);
    if (refusal.rejected === "rate_limit") return;
    this.#row({ status: "error", errorCode: refusal.code, attempts: 0 });
  }

  /** Failed (or the caller left) before the stream opened, after `attempts` upstream calls. */
  failed(errorCode: string, attempts: number, aborted: boolean): void {
    const status = aborted ? "aborted" : "error";
    this.#sample({ outcome: status, errorCode, attempts });
    this.#row({ status, errorCode, attempts });
  }

  /** A stream that ended, however it ended; `upstreamAt`: when the upstream call started. */
  streamed(summary: RelaySummary, cost: StreamCost, attempts: number, upstreamAt: number): void {
    const status = summary.outcome === "completed"
      ? "ok"
      : summary.outcome === "client_aborted"
      ? "aborted"
      : "error";
    const errorCode = status === "aborted" ? "ABORTED" : summary.errorCode;
    const firstEventMs = summary.firstEventAt === undefined
      ? undefined
      : summary.firstEventAt - this.facts.started;
    const spent = { usage: cost.usage, costUsd: cost.costUsd };
    this.#sample({
      outcome: status,
      errorCode,
      attempts,
      firstTokenMs: firstEventMs,
      // Our own time: everything before the upstream call (auth, validation, guards).
      overheadMs: upstreamAt - this.facts.started,
      ...spent,
    });
    this.#row({ status, errorCode, attempts, firstEventMs, ...spent });
  }

  #sample(
    outcome: {
      outcome: RequestSample["outcome"];
      errorCode?: string;
      attempts: number;
      firstTokenMs?: number;
      overheadMs?: number;
      usage?: StreamCost["usage"];
      costUsd?: number;
    },
    rejected?: RequestSample["rejected"],
  ): void {
    this.sinks.metrics.record({
      accountId: this.accountId,
      provider: PROVIDER,
      model: this.facts.model,
      useCase: this.facts.useCase,
      outcome: outcome.outcome,
      errorCode: outcome.errorCode,
      latencyMs: this.now() - this.facts.started,
      firstTokenMs: outcome.firstTokenMs,
      overheadMs: outcome.overheadMs,
      inputTokens: outcome.usage?.inputTokens ?? 0,
      outputTokens: outcome.usage?.outputTokens ?? 0,
      cachedInputTokens: outcome.usage?.cachedInputTokens ?? 0,
      costUsd: outcome.costUsd ?? 0,
      attempts: outcome.attempts,
      fallbackIndex: 0,
      cached: false,
      ...(rejected ? { rejected } : {}),
    });
  }

  #row(row: {
    status: UsageRecord["status"];
    errorCode?: string;
    attempts: number;
    firstEventMs?: number;
    usage?: StreamCost["usage"];
    costUsd?: number;
  }): void {
    const usage = this.sinks.usage;
    if (!usage) return;
    const queued = usage.enqueue({
      accountId: this.accountId,
      userId: this.facts.userId,
      useCase: this.facts.useCase,
      provider: PROVIDER,
      model: this.facts.model,
      inputTokens: row.usage?.inputTokens ?? 0,
      outputTokens: row.usage?.outputTokens ?? 0,
      cachedInputTokens: row.usage?.cachedInputTokens ?? 0,
      cacheWriteTokens: 0,
      costUsd: row.costUsd ?? 0,
      latencyMs: this.now() - this.facts.started,
      timeToFirstTokenMs: row.firstEventMs,
      status: row.status,
      errorCode: row.errorCode,
      requestId: this.facts.requestId,
      streamed: true,
      attempts: row.attempts,
      fallbackIndex: 0,
      at: this.now(),
    });
    // A full queue means the database is far behind: said out loud, never waited on.
    if (!queued) this.sinks.log.error("usage_dropped", { requestId: this.facts.requestId });
  }
}
