/**
 * One request as metrics see it, and the counter fields it adds to its
 * series. A series is (provider, model, use case); every label comes from a
 * closed set (configured providers, catalog models, use cases, error codes),
 * so a caller cannot grow the number of series by sending odd values. The
 * request's account is no label: it picks the account's own set of series
 * (beside the platform's), each bounded the same way.
 */
import { LLM_ERROR_STATUS } from "../llm/errors.ts";
import { isUuid } from "../data/ids.ts";
import { bucketIndex, LATENCY_BUCKETS_MS } from "./buckets.ts";

/** What one request contributes. */
export interface RequestSample {
  /** The account the request was made for; its series count it too. */
  accountId?: string;
  /** The gateway key the request came with; its own series (inside its account's) count it too. */
  keyId?: string;
  provider?: string;
  model?: string;
  /** The model's deployment that served; absent: the model has none (its series keep three labels). */
  deployment?: string;
  useCase?: string;
  outcome: "ok" | "error" | "aborted";
  errorCode?: string;
  latencyMs: number;
  /** Streams: time to the first event. */
  firstTokenMs?: number;
  /** Time spent in the gateway itself (provider time and backoff excluded). */
  overheadMs?: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Output tokens spent reasoning (inside `outputTokens`); absent: none. */
  reasoningTokens?: number;
  costUsd: number;
  /** Provider calls made (retries and fallbacks included). */
  attempts: number;
  /** 0 when the first target served. */
  fallbackIndex: number;
  /** Served from the response cache. */
  cached: boolean;
  /** Refused by a guard before any provider call. */
  rejected?: "rate_limit" | "budget";
}

/** The labels of a series. */
export interface SeriesLabels {
  provider: string;
  model: string;
  useCase: string;
  /** Only on the series of a model's deployment. */
  deployment?: string;
}

/** The closed sets labels are drawn from; anything else is `other` (absent: `none`). */
export interface LabelVocabulary {
  providers: ReadonlySet<string>;
  models: ReadonlySet<string>;
  useCases: ReadonlySet<string>;
  /** The configured deployments' names; absent: none configured. */
  deployments?: ReadonlySet<string>;
}

const NO_DEPLOYMENTS: ReadonlySet<string> = new Set();

const bounded = (value: string | undefined, known: ReadonlySet<string>) =>
  value === undefined ? "none" : known.has(value) ? value : "other";

/**
 * The key of the series `sample` belongs to in the store: its labels, each
 * bounded by `vocabulary`, joined by `|` (none of them can hold one). A
 * deployment is a fourth label, only when there is one, so the series of a
 * model without deployments keep the keys they always had.
 */
export function seriesKeyOf(sample: RequestSample, vocabulary: LabelVocabulary): string {
  const key = `${bounded(sample.provider, vocabulary.providers)}|${
    bounded(sample.model, vocabulary.models)
  }|${bounded(sample.useCase, vocabulary.useCases)}`;
  return sample.deployment === undefined
    ? key
    : `${key}|${bounded(sample.deployment, vocabulary.deployments ?? NO_DEPLOYMENTS)}`;
}

/**
 * The account whose series also count `sample`, if any: only an account id
 * shaped like the database's (a UUID), so no value can make odd store keys.
 */
export function accountOfSample(sample: RequestSample): string | undefined {
  return isUuid(sample.accountId) ? sample.accountId : undefined;
}

/**
 * The gateway key whose series also count `sample`, if any: only with an
 * account, and only ids shaped like the database's.
 */
export function keyOfSample(sample: RequestSample): string | undefined {
  return isUuid(sample.accountId) && isUuid(sample.keyId) ? sample.keyId : undefined;
}

/** The labels back from a series key. */
export function labelsFromKey(key: string): SeriesLabels {
  const [provider = "none", model = "none", useCase = "none", deployment] = key.split("|");
  return deployment === undefined
    ? { provider, model, useCase }
    : { provider, model, useCase, deployment };
}

/** Cost is counted in whole nano-dollars so that isolates' sums add exactly. */
const NANO = 1_000_000_000;
/** Durations are summed in whole microseconds for the same reason. */
const MICRO = 1_000;

/** Error codes that may become a label; others count as OTHER. */
const ERROR_CODES = new Set<string>([
  ...Object.keys(LLM_ERROR_STATUS),
  "VALIDATION_ERROR",
  "INTERNAL",
]);

// Field names are built once per isolate, not per request.
const bucketFields = (prefix: string) =>
  Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => `${prefix}:${i}`);
const LATENCY_FIELDS = bucketFields("lat");
const FIRST_TOKEN_FIELDS = bucketFields("ttft");
const OVERHEAD_FIELDS = bucketFields("ovh");
const ERROR_FIELDS = new Map([...ERROR_CODES, "OTHER"].map((code) => [code, `err:${code}`]));
const REJECTED_FIELDS = { rate_limit: "rej:rate_limit", budget: "rej:budget" } as const;

/** The counter increments `sample` adds to its series. */
export function fieldsOf(sample: RequestSample): Record<string, number> {
  const fields: Record<string, number> = {};
  addSample(fields, sample);
  return fields;
}

/** Adds `sample`'s counter increments to `fields` (a series' pending counts) in place. */
export function addSample(fields: Record<string, number>, sample: RequestSample): void {
  add(fields, "requests", 1);
  add(fields, sample.outcome, 1);
  if (sample.outcome !== "ok") {
    const code = sample.errorCode && ERROR_CODES.has(sample.errorCode) ? sample.errorCode : "OTHER";
    add(fields, ERROR_FIELDS.get(code)!, 1);
  }
  add(fields, LATENCY_FIELDS[bucketIndex(sample.latencyMs)], 1);
  add(fields, "lat_sum_us", Math.round(sample.latencyMs * MICRO));
  if (sample.firstTokenMs !== undefined) {
    add(fields, FIRST_TOKEN_FIELDS[bucketIndex(sample.firstTokenMs)], 1);
    add(fields, "ttft_sum_us", Math.round(sample.firstTokenMs * MICRO));
    add(fields, "ttft_count", 1);
  }
  if (sample.overheadMs !== undefined) {
    const overhead = Math.max(0, sample.overheadMs);
    add(fields, OVERHEAD_FIELDS[bucketIndex(overhead)], 1);
    add(fields, "ovh_sum_us", Math.round(overhead * MICRO));
    add(fields, "ovh_count", 1);
  }
  add(fields, "tok_in", sample.inputTokens);
  add(fields, "tok_out", sample.outputTokens);
  add(fields, "tok_cached", sample.cachedInputTokens);
  add(fields, "tok_reasoning", sample.reasoningTokens ?? 0);
  add(fields, "cost_nano", Math.round(sample.costUsd * NANO));
  // Calls beyond one per target tried are retries; a served fallback counts once.
  add(fields, "retries", Math.max(0, sample.attempts - 1 - sample.fallbackIndex));
  if (sample.fallbackIndex > 0) add(fields, "fallbacks", 1);
  if (sample.cached) add(fields, "cache_hits", 1);
  if (sample.rejected) add(fields, REJECTED_FIELDS[sample.rejected], 1);
}

function add(fields: Record<string, number>, name: string, amount: number): void {
  if (amount !== 0) fields[name] = (fields[name] ?? 0) + amount;
}

/** Converts the stored integer units back: nano-dollars to dollars, µs to ms. */
export const UNITS = { usd: (nano: number) => nano / NANO, ms: (us: number) => us / MICRO };
