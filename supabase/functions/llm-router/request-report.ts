/**
 * What each routed request leaves behind: one log line and one llm_usage row
 * (who, which provider and model, outcome, tokens, cost, latency), written
 * off the hot path. Never prompt text, never a key.
 */
import type { Logger } from "../_shared/http/log.ts";
import type { UsageRecord, UsageRecorder } from "../_shared/data/usage.ts";
import type { LLMError } from "../_shared/llm/errors.ts";
import type { RoutedStream, RouteOutcome } from "../_shared/llm/router.ts";
import type { LLMUsage } from "../_shared/llm/types.ts";

/** Who asked, known before routing. */
export interface ReportBase {
  requestId: string;
  api: "native" | "openai" | "job";
  caller: string;
  accountId?: string;
  userId?: string;
  agentId?: string;
  useCase?: string;
}

/** Reports one request's outcome. */
export class RequestReporter {
  constructor(
    private readonly log: Logger,
    private readonly usage: UsageRecorder | undefined,
    private readonly waitUntil: (work: Promise<unknown>) => void,
    private readonly base: ReportBase,
    private readonly started: number,
  ) {}

  /** A finished, non-streamed answer. */
  answered(route: RouteOutcome, usage: LLMUsage, costUsd: number): void {
    this.#report({ route, usage, costUsd, status: "ok", streamed: false });
  }

  /** A committed stream: reported when it ends, however it ends. */
  streaming(routed: RoutedStream): void {
    const firstEventMs = performance.now() - this.started;
    this.waitUntil(routed.completion.then((end) =>
      this.#report(
        end.ok
          ? {
            route: routed.route,
            usage: end.usage,
            costUsd: end.costUsd,
            status: "ok",
            streamed: true,
            firstEventMs,
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
    this.#record({
      provider: error.provider,
      model: error.model,
      status: error.code === "ABORTED" ? "aborted" : "error",
      errorCode: error.code,
      streamed,
      attempts: Number(error.details.attempts ?? 1),
      fallbackIndex: 0,
    });
  }

  #report(outcome: {
    route: RouteOutcome;
    usage?: LLMUsage;
    costUsd?: number;
    status: "ok" | "error" | "aborted";
    errorCode?: string;
    streamed: boolean;
    firstEventMs?: number;
  }): void {
    const { route, usage } = outcome;
    this.log.info("llm_request", {
      ...this.base,
      stream: outcome.streamed,
      provider: route.provider,
      model: route.model,
      attempts: route.attempts,
      fallbackIndex: route.fallbackIndex,
      outcome: outcome.errorCode ?? "ok",
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
      cachedInputTokens: usage?.cachedInputTokens,
      costUsd: outcome.costUsd,
    });
    this.#record({
      provider: route.provider,
      model: route.model,
      useCase: route.useCase,
      status: outcome.status,
      errorCode: outcome.errorCode,
      streamed: outcome.streamed,
      attempts: route.attempts,
      fallbackIndex: route.fallbackIndex,
      usage,
      costUsd: outcome.costUsd,
      firstEventMs: outcome.firstEventMs,
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
    if (!this.usage) return;
    const record: UsageRecord = {
      accountId: this.base.accountId,
      userId: this.base.userId,
      agentId: this.base.agentId,
      useCase: row.useCase ?? this.base.useCase,
      provider: row.provider,
      model: row.model,
      inputTokens: row.usage?.inputTokens ?? 0,
      outputTokens: row.usage?.outputTokens ?? 0,
      cachedInputTokens: row.usage?.cachedInputTokens ?? 0,
      cacheWriteTokens: row.usage?.cacheWriteTokens ?? 0,
      costUsd: row.costUsd ?? 0,
      latencyMs: performance.now() - this.started,
      timeToFirstTokenMs: row.firstEventMs,
      status: row.status,
      errorCode: row.errorCode,
      requestId: this.base.requestId,
      streamed: row.streamed,
      attempts: row.attempts,
      fallbackIndex: row.fallbackIndex,
    };
    this.waitUntil(
      this.usage.record(record).catch((error) =>
        this.log.error("usage_write_failed", {
          requestId: this.base.requestId,
          detail: error instanceof Error ? error.message : String(error),
        })
      ),
    );
  }
}
