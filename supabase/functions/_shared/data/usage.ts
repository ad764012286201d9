/** One llm_usage row per request: who, which model, tokens, cost, latency and outcome; written in batches. */
import { type Db, jsonParam } from "../store/db.ts";
import { isUuid } from "./ids.ts";
import { writableOptionalText, writableTimestamp } from "./writable-values.ts";

/** What is recorded about a request. */
export interface UsageRecord {
  accountId?: string;
  agentId?: string;
  userId?: string;
  useCase?: string;
  provider?: string;
  model?: string;
  /** The model's deployment that served (`LLM_DEPLOYMENTS`); absent: the model has none. */
  deployment?: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  /** Output tokens spent reasoning (inside `outputTokens`); absent: none. */
  reasoningTokens?: number;
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
  /** The gateway key the request came with (its id, never its secret); absent: none. */
  keyId?: string;
  /** When the request ended (epoch ms); a batched row keeps its real time. Default: now(). */
  at?: number;
}

/** Writes usage rows. */
export class UsageRecorder {
  constructor(private readonly db: Db) {}

  /** Inserts one row. */
  async record(usage: UsageRecord): Promise<void> {
    await this.recordBatch([usage]);
  }

  /**
   * Inserts `rows` in one statement with one JSON parameter: a batch costs
   * one round trip. Ids that are not UUIDs (a caller's free-form account) are
   * stored as null. An empty batch sends nothing.
   */
  async recordBatch(rows: readonly UsageRecord[]): Promise<void> {
    if (rows.length === 0) return;
    const records = rows.map((usage) => ({
      account_id: isUuid(usage.accountId) ? usage.accountId : null,
      agent_id: usage.agentId ?? null,
      user_id: isUuid(usage.userId) ? usage.userId : null,
      use_case: usage.useCase ?? null,
      provider: usage.provider ?? null,
      model: usage.model ?? null,
      deployment: usage.deployment ?? null,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      cached_input_tokens: usage.cachedInputTokens,
      cache_write_tokens: usage.cacheWriteTokens,
      reasoning_tokens: usage.reasoningTokens ?? 0,
      cost_usd: usage.costUsd,
      latency_ms: usage.latencyMs === undefined ? null : Math.round(usage.latencyMs),
      time_to_first_token_ms: usage.timeToFirstTokenMs === undefined
        ? null
        : Math.round(usage.timeToFirstTokenMs),
      status: usage.status,
      error_code: usage.errorCode ?? null,
      request_id: usage.requestId ?? null,
      streamed: usage.streamed,
      attempts: usage.attempts,
      fallback_index: usage.fallbackIndex,
      cached: usage.cached ?? false,
      key_id: isUuid(usage.keyId) ? usage.keyId : null,
      created_at: writableTimestamp(usage.at),
    }));
    await this.db.query(
      `insert into llm_usage (account_id, agent_id, user_id, use_case, provider, model, deployment, input_tokens, output_tokens,
          cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd, latency_ms, time_to_first_token_ms, status,
          error_code, request_id, streamed, attempts, fallback_index, cached, key_id, created_at)
       select u.account_id, u.agent_id, u.user_id, u.use_case, u.provider, u.model, u.deployment, u.input_tokens, u.output_tokens,
              u.cached_input_tokens, u.cache_write_tokens, u.reasoning_tokens, u.cost_usd, u.latency_ms, u.time_to_first_token_ms,
              u.status, u.error_code, u.request_id, u.streamed, u.attempts, u.fallback_index, u.cached, u.key_id,
              coalesce(u.created_at, now())
       from rows from (jsonb_to_recordset($1::text::jsonb) as (
         account_id uuid, agent_id text, user_id uuid, use_case text, provider text, model text, deployment text,
         input_tokens integer, output_tokens integer, cached_input_tokens integer, cache_write_tokens integer,
         reasoning_tokens integer, cost_usd numeric, latency_ms integer, time_to_first_token_ms integer, status text, error_code text,
         request_id text, streamed boolean, attempts integer, fallback_index integer, cached boolean, key_id uuid,
         created_at timestamptz
       )) with ordinality as u(
         account_id, agent_id, user_id, use_case, provider, model, deployment, input_tokens, output_tokens,
         cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd, latency_ms, time_to_first_token_ms,
         status, error_code, request_id, streamed, attempts, fallback_index, cached, key_id, created_at, position
       )
       order by u.position`,
      [jsonParam(records)],
    );
  }
}

/** The largest value of a Postgres `integer` column. */
const MAX_INTEGER = 2_147_483_647;
/** Just under what `cost_usd numeric(16, 8)` holds. */
const MAX_COST_USD = 99_999_999;

/**
 * `usage` made storable after the database refused it, so the spend it
 * carries is still recorded: text well-formed, without NUL and bounded;
 * counts whole, finite and within an integer column; a cost that is not a
 * number becomes 0 and one beyond the column is capped; an unknown status
 * becomes "error". For the usage queue's `repair`.
 */
export function repairUsageRecord(usage: UsageRecord): UsageRecord {
  return {
    ...usage,
    accountId: writableOptionalText(usage.accountId),
    agentId: writableOptionalText(usage.agentId),
    userId: writableOptionalText(usage.userId),
    useCase: writableOptionalText(usage.useCase),
    provider: writableOptionalText(usage.provider),
    model: writableOptionalText(usage.model),
    deployment: writableOptionalText(usage.deployment),
    errorCode: writableOptionalText(usage.errorCode),
    requestId: writableOptionalText(usage.requestId),
    inputTokens: storableCount(usage.inputTokens),
    outputTokens: storableCount(usage.outputTokens),
    cachedInputTokens: storableCount(usage.cachedInputTokens),
    cacheWriteTokens: storableCount(usage.cacheWriteTokens),
    reasoningTokens: storableCount(usage.reasoningTokens ?? 0),
    costUsd: Number.isFinite(usage.costUsd)
      ? Math.max(-MAX_COST_USD, Math.min(MAX_COST_USD, usage.costUsd))
      : 0,
    latencyMs: optionalCount(usage.latencyMs),
    timeToFirstTokenMs: optionalCount(usage.timeToFirstTokenMs),
    status: ["ok", "error", "aborted"].includes(usage.status) ? usage.status : "error",
    attempts: storableCount(usage.attempts),
    fallbackIndex: storableCount(usage.fallbackIndex),
  };
}

function storableCount(value: number): number {
  return Number.isFinite(value) ? Math.max(0, Math.min(MAX_INTEGER, Math.round(value))) : 0;
}

function optionalCount(value: number | undefined): number | undefined {
  return value === undefined || !Number.isFinite(value) ? undefined : storableCount(value);
}
