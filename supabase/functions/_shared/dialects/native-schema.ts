/**
 * llm-router's native API as zod schemas: the request body, the JSON answer,
 * the stream's events, and the error bodies. The function validates requests
 * with them and types what it writes from them; the client SDK
 * (shared/client) infers its types from them with `import type`, so client
 * and server cannot drift and the client bundle holds no zod.
 */
import { z } from "zod";
import { USE_CASES, type UseCase } from "../llm/catalog.ts";
import { LLM_REASONING_EFFORTS } from "../llm/types.ts";
import {
  wireMessage,
  wireResponseFormat,
  wireText,
  wireTool,
  wireToolCall,
  wireToolChoice,
} from "./wire-schema.ts";

/** The chat use cases: every catalog use case but `embedding` (`auto:<useCase>` names one). */
export const CHAT_USE_CASES: readonly UseCase[] = USE_CASES.filter((u) => u !== "embedding");

/** Whether `value` names a chat use case. */
export function isChatUseCase(value: string | undefined): value is UseCase {
  return value !== undefined && (CHAT_USE_CASES as readonly string[]).includes(value);
}

/** A chat use case, as a request names it. */
export const chatUseCase = z.enum(CHAT_USE_CASES as [string, ...string[]]);
/** A reasoning effort level, as every dialect's request names it (`reasoning_effort` …). */
export const reasoningEffort = z.enum(LLM_REASONING_EFFORTS);

/** An agent, account or model id as a request names it. */
export const routingId = z.string().min(1).max(200);
const id = routingId;

/** The native API's request body (`POST /functions/v1/llm-router`). */
export const nativeChatBody = z.strictObject({
  useCase: chatUseCase.optional(),
  tier: z.string().min(1).max(64).optional(),
  prompt: wireText.min(1).optional(),
  messages: z.array(wireMessage).min(1).max(1_000).optional(),
  systemPrompt: wireText.optional(),
  maxTokens: z.int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  stop: z.array(z.string().min(1)).max(4).optional(),
  modelOverride: id.optional(),
  stream: z.boolean().optional(),
  tools: z.array(wireTool).max(128).optional(),
  toolChoice: wireToolChoice.optional(),
  parallelToolCalls: z.boolean().optional(),
  responseFormat: wireResponseFormat.optional(),
  /**
   * How hard a reasoning model should think: an effort level, or a thinking
   * budget in tokens (Claude's). Models without a control ignore it, with an
   * `x-llm-warnings` header.
   */
  reasoning: z.strictObject({
    effort: reasoningEffort.optional(),
    budgetTokens: z.int().min(1).max(1_000_000).optional(),
  }).optional(),
  maxSteps: z.int().min(1).max(10).optional(),
  agentId: id.optional(),
  accountId: id.optional(),
  summarizeTrimmed: z.boolean().optional(),
  /** Serve from (and fill) the response cache; the use case's setting when absent. */
  cache: z.boolean().optional(),
});

/** The native API's body, parsed. */
export type NativeChatBody = z.infer<typeof nativeChatBody>;

// Answers are described with plain (not strict) objects: a field added on the
// server later must not make an older consumer's validation fail.

/**
 * Tokens of one answer; cached input and cache writes are billed at their
 * own prices. `reasoningTokens` (present when the model reasoned) are part of
 * `outputTokens` and billed as output.
 */
export const nativeUsage = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cachedInputTokens: z.number(),
  cacheWriteTokens: z.number(),
  reasoningTokens: z.number().optional(),
});

/** Token counts of an answer. */
export type NativeUsage = z.infer<typeof nativeUsage>;

/** Why the model stopped. */
export const nativeFinishReason = z.enum(["stop", "length", "tool_calls", "content_filter"]);

/** A routed answer as the native API returns it and a job stores it (tool calls in OpenAI format). */
export const nativeRoutedAnswer = z.object({
  text: z.string(),
  provider: z.string(),
  model: z.string(),
  toolCalls: z.array(wireToolCall),
  finishReason: nativeFinishReason,
  usage: nativeUsage,
  costUsd: z.number(),
  /** The model's reasoning text, where its provider returns it. */
  reasoning: z.string().optional(),
  /** Model turns taken by a tool loop (`maxSteps` > 1). */
  steps: z.int().optional(),
});

/** A routed answer, as stored by jobs. */
export type NativeRoutedAnswer = z.infer<typeof nativeRoutedAnswer>;

/** The native API's JSON answer; `cached` is set on a response-cache hit. */
export const nativeAnswer = nativeRoutedAnswer.extend({
  success: z.literal(true),
  cached: z.literal(true).optional(),
});

/** The native API's JSON answer. */
export type NativeAnswer = z.infer<typeof nativeAnswer>;

/**
 * One `data:` event of a native stream. `start` comes first; the stream ends
 * with `finish`, then `data: [DONE]`, or with an `event: error`. `reasoning`
 * events carry the model's reasoning text, where its provider streams it.
 */
export const nativeStreamEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("start"), provider: z.string(), model: z.string() }),
  z.object({ type: z.literal("reasoning"), text: z.string() }),
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({
    type: z.literal("tool-call"),
    /** Position of the call in this turn; deltas with the same index belong together. */
    index: z.int(),
    /** Present on a call's first delta. */
    id: z.string().optional(),
    /** Present on a call's first delta. */
    name: z.string().optional(),
    argumentsDelta: z.string(),
  }),
  z.object({
    type: z.literal("finish"),
    finishReason: nativeFinishReason,
    usage: nativeUsage,
    costUsd: z.number(),
  }),
]);

/** One native stream event. */
export type NativeStreamEvent = z.infer<typeof nativeStreamEvent>;

/** The data of the `event: error` that ends a stream which failed after it started. */
export const nativeStreamError = z.object({
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }),
});

/** An `event: error` payload. */
export type NativeStreamError = z.infer<typeof nativeStreamError>;

/**
 * Every error response: a stable `code`, a safe `message`, and details such
 * as the `field` that is wrong, whether trying again can help and how long to
 * wait (budget and rate-limit refusals add their own numbers).
 */
export const nativeErrorBody = z.object({
  error: z.looseObject({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    retryable: z.boolean().optional(),
    retryAfterMs: z.number().optional(),
  }),
});

/** An error response body. */
export type NativeErrorBody = z.infer<typeof nativeErrorBody>;
