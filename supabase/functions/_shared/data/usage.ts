/** One llm_usage row per request: who, which model, tokens, cost, latency and outcome. */
import type { Db } from "../store/db.ts";
import { isUuid } from "./ids.ts";

/** What is recorded about a request. */
export interface UsageRecord {
  accountId?: string;
  agentId?: string;
  userId?: string;
  useCase?: string;
  provider?: string;
  model?: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  latencyMs?: number;
  timeToFirstTokenMs?: number;
  status: "ok" | "error" | "aborted";
  errorCode?: string;
  requestId?: string;
  streamed: boolean;
  attempts: number;
  fallbackIndex: number;
  cached?: boolean;
}

/** Writes usage rows. */
export class UsageRecorder {
  constructor(private readonly db: Db) {}

  /** Inserts one row. Ids that are not UUIDs (a caller's free-form account) are stored as null. */
  async record(usage: UsageRecord): Promise<void> {
    await this.db.query(
      `insert into llm_usage (account_id, agent_id, user_id, use_case, provider, model, input_tokens, output_tokens,
          cached_input_tokens, cache_write_tokens, cost_usd, latency_ms, time_to_first_token_ms, status, error_code,
          request_id, streamed, attempts, fallback_index, cached)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
      [
        isUuid(usage.accountId) ? usage.accountId : null,
        usage.agentId ?? null,
        isUuid(usage.userId) ? usage.userId : null,
        usage.useCase ?? null,
        usage.provider ?? null,
        usage.model ?? null,
        usage.inputTokens,
        usage.outputTokens,
        usage.cachedInputTokens,
        usage.cacheWriteTokens,
        usage.costUsd,
        usage.latencyMs === undefined ? null : Math.round(usage.latencyMs),
        usage.timeToFirstTokenMs === undefined ? null : Math.round(usage.timeToFirstTokenMs),
        usage.status,
        usage.errorCode ?? null,
        usage.requestId ?? null,
        usage.streamed,
        usage.attempts,
        usage.fallbackIndex,
        usage.cached ?? false,
      ],
    );
  }
}
