/**
 * What a direct request may cost, before the call (the budget hold), and what
 * it did cost, after it. There is no tokenizer on this path (it would cost
 * the functions their boot time), so token counts before the call are upper
 * bounds from UTF-8 lengths: a byte-level BPE token covers at least one byte.
 */
import { type CatalogModel, costOf, maxCostOf } from "../llm/catalog.ts";
import type { ChatTurn } from "./chat-input.ts";

/** Token usage, as reported in a stream's final chunk (`stream_options.include_usage`). */
export interface StreamUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

/** Tokens OpenAI's chat format adds per message (role, delimiters), as llm-router's token count. */
const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens that prime the assistant's reply. */
const REPLY_PRIMING_TOKENS = 3;

const encoder = new TextEncoder();

/** The UTF-8 length of `text`: never less than its token count. */
export function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}

/** The most input tokens the system prompt and turns can be. */
export function inputTokenBound(systemPrompt: string, messages: readonly ChatTurn[]): number {
  let bound = REPLY_PRIMING_TOKENS + MESSAGE_OVERHEAD_TOKENS + utf8Length(systemPrompt);
  for (const message of messages) bound += MESSAGE_OVERHEAD_TOKENS + utf8Length(message.content);
  return bound;
}

/** The most a request can cost: what the budget holds; 0 for a model the catalog cannot price. */
export function maxRequestCost(
  model: CatalogModel | undefined,
  inputTokens: number,
  maxTokens: number,
): number {
  return model ? maxCostOf(model, inputTokens, maxTokens) : 0;
}

/** A finished stream's tokens and cost. */
export interface StreamCost {
  usage: StreamUsage;
  costUsd: number;
  /** True when OpenAI sent no usage (the stream was cut short) and the tokens are upper bounds. */
  estimated: boolean;
}

/**
 * The cost of a stream from the usage OpenAI reported. A stream cut short
 * before that report (the client left, the connection broke) was still
 * billed for what it generated, so it is charged an upper bound instead of
 * nothing: the input bound plus the UTF-8 length of the text relayed, at
 * most `maxTokens`. A budget must not under-count.
 */
export function streamCost(
  model: CatalogModel | undefined,
  reported: StreamUsage | undefined,
  bound: { inputTokens: number; maxTokens: number; outputBytes: number },
): StreamCost {
  const usage = reported ?? {
    inputTokens: bound.inputTokens,
    outputTokens: Math.min(bound.maxTokens, bound.outputBytes),
    cachedInputTokens: 0,
  };
  const costUsd = model ? costOf(model, { ...usage, cacheWriteTokens: 0 }) : 0;
  return { usage, costUsd, estimated: reported === undefined };
}
