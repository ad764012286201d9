/**
 * Why a candidate model was not used, as data. The planner and the runner
 * record these; the final error and any screen that lists them read the
 * `kind`, and only `describeSkip` turns one into words, so no code has to
 * match a sentence to learn what happened.
 */
import type { LLMError } from "./errors.ts";

/**
 * A capability a model may lack for a request; `structured-output`: the
 * model cannot guarantee a JSON schema (its catalog `structuredOutput` is `none`).
 */
export type Capability =
  | "chat"
  | "vision"
  | "tools"
  | "json"
  | "structured-output"
  | "embeddings";

/** Why a candidate was left out, before or during the run. */
export type SkipReason =
  /** The id is in no catalog (built-in or `LLM_MODELS`). */
  | { kind: "not-in-catalog" }
  /** The model's provider is neither built in nor configured. */
  | { kind: "unknown-provider"; provider: string }
  /** Neither the tenant nor the platform has a key for the provider. */
  | { kind: "no-key"; provider: string }
  /** The request needs something the model cannot do. */
  | { kind: "missing-capability"; capability: Capability }
  /** The provider's adapter has no embeddings endpoint. */
  | { kind: "no-embeddings-endpoint"; provider: string }
  /** An embedding fallback whose vectors differ in size from the first choice's. */
  | { kind: "vector-size"; dimensions: number | undefined; expected: number | undefined }
  /** Even trimmed, the request does not fit the window; `error` carries the numbers. */
  | { kind: "window-too-small"; error: LLMError }
  /** A provider said the request overflowed a window at least as large as this one. */
  | { kind: "window-not-larger"; overflowedWindow: number }
  /** The model's circuit is open. */
  | { kind: "circuit-open" }
  /** The gate (budget, model ceiling) refused the target. */
  | { kind: "refused"; error: LLMError }
  /** Too little of the request deadline was left to start an attempt. */
  | { kind: "deadline"; leftMs: number }
  /** The model's dearest per-million-token price is above the request's price ceiling (`price-ceiling.ts`). */
  | { kind: "over-price-ceiling"; pricePerMTok: number; ceiling: number };

/** A candidate that was not used, and why. */
export interface SkippedTarget {
  model: string;
  /** The model's deployment left out (its circuit, its ceiling); absent: the model as a whole. */
  deployment?: string;
  reason: SkipReason;
}

/** `model`, or `model@deployment` when one deployment of it was left out. */
export function skippedName(skipped: SkippedTarget): string {
  return skipped.deployment === undefined
    ? skipped.model
    : `${skipped.model}@${skipped.deployment}`;
}

/** The reason in words, for error messages and logs. */
export function describeSkip(reason: SkipReason): string {
  switch (reason.kind) {
    case "not-in-catalog":
      return "not in the catalog";
    case "unknown-provider":
      return `provider ${reason.provider} is not configured`;
    case "no-key":
      return `no API key for ${reason.provider}`;
    case "missing-capability":
      return reason.capability === "embeddings"
        ? "not an embedding model"
        : reason.capability === "structured-output"
        ? "cannot guarantee a JSON schema"
        : `no ${reason.capability} support`;
    case "no-embeddings-endpoint":
      return `${reason.provider} serves no embeddings`;
    case "vector-size":
      return "different vector size than the first choice";
    case "window-too-small":
      return "context window too small";
    case "window-not-larger":
      return "window no larger than one that overflowed";
    case "circuit-open":
      return "circuit open";
    case "refused":
      return reason.error.message;
    case "deadline":
      return `too little of the request deadline left (${Math.max(0, reason.leftMs)} ms)`;
    case "over-price-ceiling":
      return `$${reason.pricePerMTok}/MTok is above the price ceiling of $${reason.ceiling}/MTok`;
  }
}

/** `model: reason; …` for every skipped target, for an error's message. */
export function describeSkipped(skipped: readonly SkippedTarget[]): string {
  return skipped.map((s) => `${skippedName(s)}: ${describeSkip(s.reason)}`).join("; ");
}

/**
 * The reason as a short token for a response header (`x-llm-skipped`):
 * `no-key`, `no-vision`, `no-structured-output`, `circuit-open`, … A refusal
 * carries its error's code (`refused-PAYMENT_REQUIRED`).
 */
export function skipCode(reason: SkipReason): string {
  switch (reason.kind) {
    case "missing-capability":
      return reason.capability === "embeddings" ? "not-embedding-model" : `no-${reason.capability}`;
    case "refused":
      return `refused-${reason.error.code}`;
    default:
      return reason.kind;
  }
}
