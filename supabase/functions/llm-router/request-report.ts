/**
 * What each routed request leaves behind: one log line, one llm_usage row
 * (who, which provider and model, outcome, tokens, cost, latency) and one
 * audit event, all off the hot path, each naming the gateway key the request
 * came with (by id). Never a key; prompt text only in the
 * audit event, and only when the deployment turned that on.
 */
import type { Logger } from "../_shared/runtime/log.ts";
import type { AuditQueue } from "../_shared/data/audit-queue.ts";
import type { MetricsRecorder } from "../_shared/metrics/recorder.ts";
import type { UsageRecord } from "../_shared/data/usage.ts";
import type { LLMError } from "../_shared/llm/errors.ts";
import type { RoutedStream, RouteOutcome } from "../_shared/llm/route-types.ts";
import type { LLMUsage } from "../_shared/llm/types.ts";
import type { ChatApi } from "../_shared/dialects/chat-dialect.ts";

/** Who asked, known before routing. */
export interface ReportBase {
  requestId: string;
  api: ChatApi | "job";
  caller: string;
  accountId?: string;
  userId?: string;
  agentId?: string;
  useCase?: string;
  /** The gateway key the request came with (its id, never its secret). */
  keyId?: string;
}

/** Where a request's records go. */
export interface ReportSinks {
  log: Logger;
  /** The llm_usage writer's queue. */
  usage?: { enqueue(record: UsageRecord): boolean };
  audit?: AuditQueue;
  metrics?: MetricsRecorder;
  waitUntil: (work: Promise<unknown>) => void;
  /** The world's clock (epoch ms), for the rows' time. */
  now: () => number;
}

/** Starts a reporter per request, all writing to the same sinks. */
export class RequestReports {
  constructor(private readonly sinks: ReportSinks) {}

  /**
   * A reporter for the request `base` that arrived at `started`
   * (`performance.now()`); `prompt` goes into its audit event only (set when
   * LLM_AUDIT_PROMPTS is on), never into a log line.
   */
  start(base: ReportBase, started: number, prompt?: string): RequestReporter {
    return new RequestReporter(this.sinks, base, started, prompt);
  }
}

/** Reports one request's outcome. */
export class RequestReporter {
  private readonly log: Logger;

  constructor(
    private readonly sinks: ReportSinks,
    private readonly base: ReportBase,
    private readonly started: number,
    private readonly prompt?: string,
  ) {
    this.log = sinks.log;
  }

  /** A finished, non-streamed answer (`cached`: served from the response cache, at no cost). */
  answered(route: RouteOutcome, usage: LLMUsage, costUsd: number, cached = false): void {
    this.#report({ route, usage, costUsd, status: "ok", streamed: false, cached });
  }

  /** A committed stream: reported when it ends, however it ends. */
  streaming(routed: RoutedStream, cached = false): void {
    const firstEventMs = performance.now() - this.started;
    this.sinks.waitUntil(routed.completion.then((end) =>
      this.#report(
        end.ok
          ? {
            route: routed.route,
            usage: end.usage,
            costUsd: end.costUsd,
            status: "ok",
            streamed: true,
            firstEventMs,
            cached,
          }
          : {
            route: routed.route,
            status: end.error.code === "ABORTED" ? "aborted" : "error",
            errorCode: end.error.code,
            streamed: true,
            firstEventMs,
          },
      )
    ));
  }

  /** A request that failed before an answer (or before a stream's first event). */
  failed(error: LLMError, streamed: boolean): void {
    this.log.warn("llm_request_failed", {
      ...this.base,
      code: error.code,
      provider: error.provider,
      detail: error.message,
    });
    const row = {
      provider: error.provider,
      model: error.model,
      status: error.code === "ABORTED" ? "aborted" as const : "error" as const,
      errorCode: error.code,
      streamed,
      attempts: Number(error.details.attempts ?? 1),
      fallbackIndex: 0,
    };
    const atTheDoor = error.code === "RATE_LIMIT_EXCEEDED" && error.model === undefined &&
      !error.fallback;
    this.sinks.metrics?.record({
      accountId: this.base.accountId,
      keyId: this.base.keyId,
      provider: error.provider,
      model: error.model,
      useCase: this.base.useCase,
      outcome: row.status,
      errorCode: error.code,
      latencyMs: performance.now() - this.started,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      costUsd: 0,
      attempts: error.code === "PAYMENT_REQUIRED" || atTheDoor ? 0 : row.attempts,
      fallbackIndex: 0,
      cached: false,
      rejected: atTheDoor ? "rate_limit" : error.code === "PAYMENT_REQUIRED" ? "budget" : undefined,
    });
    // Refused at the door by the caller's own rate limit: a flood must not become a flood of
    // database writes, so only the (bounded, batched) audit queue hears of it.
    if (atTheDoor) {
      this.#audit(row);
      return;
    }
    this.#record(row);
  }

  #report(outcome: {
    route: RouteOutcome;
    usage?: LLMUsage;
    costUsd?: number;
    status: "ok" | "error" | "aborted";
    errorCode?: string;
    streamed: boolean;
    firstEventMs?: number;
    cached?: boolean;
  }): void {
    const { route, usage } = outcome;
    this.log.info("llm_request", {
      ...this.base,
      stream: outcome.streamed,
      provider: route.provider,
      model: route.model,
      deployment: route.deployment,
      attempts: route.attempts,
      fallbackIndex: route.fallbackIndex,
      outcome: outcome.errorCode ?? "ok",
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      cachedInputTokens: usage?.cachedInputTokens,
      reasoningTokens: usage?.reasoningTokens,
      costUsd: outcome.costUsd,
      cached: outcome.cached || undefined,
    });
    const latencyMs = performance.now() - this.started;
    // A stream's own time ends at its first event; a JSON answer's at the end.
    const gatewayMs = (outcome.streamed ? outcome.firstEventMs ?? latencyMs : latencyMs) -
      route.upstreamMs - route.waitedMs;
    this.sinks.metrics?.record({
      accountId: this.base.accountId,
      keyId: this.base.keyId,
      provider: route.provider,
      model: route.model,
      deployment: route.deployment,
      useCase: route.useCase,
      outcome: outcome.status,
      errorCode: outcome.errorCode,
      latencyMs,
      firstTokenMs: outcome.streamed ? outcome.firstEventMs : undefined,
      overheadMs: gatewayMs,
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      cachedInputTokens: usage?.cachedInputTokens ?? 0,
      reasoningTokens: usage?.reasoningTokens ?? 0,
      costUsd: outcome.costUsd ?? 0,
      attempts: route.attempts,
      fallbackIndex: route.fallbackIndex,
      cached: outcome.cached ?? false,
    });
    this.#record({
      provider: route.provider,
      model: route.model,
      deployment: route.deployment,
      useCase: route.useCase,
      status: outcome.status,
      errorCode: outcome.errorCode,
      streamed: outcome.streamed,
      attempts: route.attempts,
      fallbackIndex: route.fallbackIndex,
      usage,
      costUsd: outcome.costUsd,
      firstEventMs: outcome.firstEventMs,
      cached: outcome.cached,
    });
  }

  #record(
    row: Partial<UsageRecord> & {
      status: UsageRecord["status"];
      streamed: boolean;
      attempts: number;
      fallbackIndex: number;
      usage?: LLMUsage;
      firstEventMs?: number;
    },
  ): void {
    this.#audit(row);
    const usageQueue = this.sinks.usage;
    if (!usageQueue) return;
    const record: UsageRecord = {
      accountId: this.base.accountId,
      userId: this.base.userId,
      agentId: this.base.agentId,
      useCase: row.useCase ?? this.base.useCase,
      provider: row.provider,
      model: row.model,
      deployment: row.deployment,
      inputTokens: row.usage?.inputTokens ?? 0,
      outputTokens: row.usage?.outputTokens ?? 0,
      cachedInputTokens: row.usage?.cachedInputTokens ?? 0,
      cacheWriteTokens: row.usage?.cacheWriteTokens ?? 0,
      reasoningTokens: row.usage?.reasoningTokens ?? 0,
      costUsd: row.costUsd ?? 0,
      latencyMs: performance.now() - this.started,
      timeToFirstTokenMs: row.firstEventMs,
      status: row.status,
      errorCode: row.errorCode,
      requestId: this.base.requestId,
      streamed: row.streamed,
      attempts: row.attempts,
      fallbackIndex: row.fallbackIndex,
      cached: row.cached ?? false,
      keyId: this.base.keyId,
      at: this.sinks.now(),
    };
    // Written in batches off the hot path; a full queue (the database far behind) is said out loud.
    if (!usageQueue.enqueue(record)) {
      this.log.error("usage_dropped", { requestId: this.base.requestId });
    }
  }

  /** The request's audit event: queued, never awaited. */
  #audit(row: Partial<UsageRecord> & { status: UsageRecord["status"]; usage?: LLMUsage }): void {
    this.sinks.audit?.enqueue({
      accountId: this.base.accountId,
      actorUserId: this.base.userId,
      actorRole: this.base.caller,
      action: "llm.request",
      target: this.base.agentId,
      provider: row.provider,
      model: row.model,
      outcome: row.errorCode ?? row.status,
      requestId: this.base.requestId,
      keyId: this.base.keyId,
      details: {
        api: this.base.api,
        useCase: row.useCase ?? this.base.useCase ?? null,
        streamed: row.streamed ?? false,
        cached: row.cached ?? false,
        inputTokens: row.usage?.inputTokens ?? 0,
        outputTokens: row.usage?.outputTokens ?? 0,
        costUsd: row.costUsd ?? 0,
        ...(this.prompt !== undefined ? { prompt: this.prompt } : {}),
      },
    });
  }
}
