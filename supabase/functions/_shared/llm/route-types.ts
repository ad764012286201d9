/**
 * The router's public vocabulary: what a caller asks (`RouteRequest`), what
 * it gets back (`RoutedChat`, `RoutedStream`, `RouteOutcome`), the plan it
 * can inspect, and the gate a gateway puts in front of each target. The
 * planner, the runner and the facade all speak it; it imports none of them.
 */
import type { CatalogModel, UseCase } from "./catalog.ts";
import type { Deployment } from "./deployments.ts";
import type { LLMError } from "./errors.ts";
import type { ProviderSpec } from "./providers/provider.ts";
import type { Candidates, RouteInput, RouteSource } from "./routing.ts";
import type { SkippedTarget } from "./skip-reason.ts";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMEmbeddingRequest,
  LLMEmbeddingResponse,
  LLMFinishReason,
  LLMStreamEvent,
  LLMUsage,
} from "./types.ts";

export type { SkippedTarget } from "./skip-reason.ts";

/** A target's permission to run, from a `TargetGate`. */
export interface Admission {
  /** The target served the request at `costUsd`. */
  settle(costUsd: number): void;
  /** The target was not used after all (it failed, or the caller left). */
  release(): void;
}

/**
 * Decides, before a target's first attempt, whether it may run: budgets hold
 * its maximum cost, per-model ceilings count it. Throws an LLMError to refuse
 * (with `fallback`, the next target is tried instead).
 */
export interface TargetGate {
  admit(target: PlannedTarget): Promise<Admission>;
}

/** A chat request with where it should go. */
export interface RouteRequest extends RouteInput {
  chat: LLMChatRequest;
  /** Summarize trimmed turns (default from config). */
  summarizeTrimmed?: boolean;
  /** Guards each target must pass (the gateway's budgets and model ceilings). */
  gate?: TargetGate;
  /**
   * When the request's time is up (epoch ms on the router's clock): no attempt
   * starts that could not end before it. Default: now + `LLM_REQUEST_DEADLINE_MS`.
   * A pipeline may pass its request's arrival + the deadline, so reading the
   * body and the guards count too.
   */
  deadlineAt?: number;
  /**
   * USD per million tokens: a target priced above it (`price-ceiling.ts`) is
   * never tried, not even as a fallback. The pipeline sets the tightest of the
   * deployment's, the account's and the agent's. Absent: no ceiling.
   */
  maxPricePerMTok?: number;
}

/** An embeddings request with where it should go. */
export interface RouteEmbeddingRequest extends LLMEmbeddingRequest {
  accountId?: string;
  modelOverride?: string;
  gate?: TargetGate;
  /** As `RouteRequest.deadlineAt`. */
  deadlineAt?: number;
  /** As `RouteRequest.maxPricePerMTok`. */
  maxPricePerMTok?: number;
}

/** A target ready to call: the model, its provider and the request fitted to its window. */
export interface PlannedTarget {
  model: CatalogModel;
  spec: ProviderSpec;
  /**
   * Which of the model's deployments this target calls (its key, endpoint,
   * circuit and ceiling); absent for a model without deployments.
   */
  deployment?: Deployment;
  request: LLMChatRequest;
  droppedMessages: number;
  /** Input tokens as sent (an upper bound when estimated from bytes). */
  inputTokens: number;
  /** What this target will not do as asked (reasoning it has no control for …). */
  warnings: string[];
  /**
   * The tool that carries the request's JSON schema when a forced tool call
   * guarantees it (`forced-tool.ts`); its call comes back as the content.
   */
  schemaTool?: string;
}

/** The full plan for a request: what would be tried, in order, and what was left out. */
export interface RoutePlan {
  candidates: Candidates;
  targets: PlannedTarget[];
  skipped: SkippedTarget[];
}

/** How a request was served. */
export interface RouteOutcome {
  provider: string;
  model: string;
  /** The model's deployment that served (`x-llm-deployment`); absent for a model without deployments. */
  deployment?: string;
  /** Provider calls made, retries and fallbacks included. */
  attempts: number;
  /** 0 when the first target served, 1 for the first fallback … */
  fallbackIndex: number;
  source: RouteSource;
  useCase: UseCase;
  trimmedMessages: number;
  /** Time spent waiting on providers (a stream: until it committed). */
  upstreamMs: number;
  /** Time spent in backoff between attempts. */
  waitedMs: number;
  /** What the serving target did not do as asked (`x-llm-warnings`); absent: nothing. */
  warnings?: string[];
  /** Candidates left out before the serving one, with typed reasons (`x-llm-skipped`). */
  skipped?: SkippedTarget[];
}

/** A finished, routed answer. */
export interface RoutedChat extends LLMChatResponse {
  route: RouteOutcome;
  costUsd: number;
}

/** Routed embeddings. */
export interface RoutedEmbedding extends LLMEmbeddingResponse {
  route: RouteOutcome;
  costUsd: number;
}

/** How a committed stream ended. */
export type StreamCompletion =
  | { ok: true; usage: LLMUsage; finishReason: LLMFinishReason; costUsd: number }
  | { ok: false; error: LLMError };

/**
 * A committed stream: from here on it answers from `route.provider` and can
 * no longer fall back. Usually its first event has already arrived; a stream
 * whose first event was slower than `LLM_STREAM_COMMIT_AFTER_MS` commits
 * without it (see `firstEvent`).
 */
export interface RoutedStream {
  route: RouteOutcome;
  /** The events; a failure, also one before the first event, is thrown from the iterator. */
  events: AsyncIterable<LLMStreamEvent>;
  /** Resolves when the stream ends: usage and cost on success, the error otherwise. */
  completion: Promise<StreamCompletion>;
  /** Stops the upstream call (the caller went away). */
  abort(): void;
  /**
   * For the SSE writer: write a comment whenever nothing was written for this
   * long (`LLM_SSE_HEARTBEAT_MS`), also while the first event is awaited.
   * Absent or 0: no heartbeats (a replay from the cache).
   */
  heartbeatMs?: number;
  /**
   * Settles once the first upstream event is in hand, or the stream failed
   * before one; never rejects. Already settled unless the stream committed
   * early. Absent: settled.
   */
  firstEvent?: Promise<void>;
}
