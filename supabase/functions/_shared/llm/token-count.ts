/**
 * Helpers of token budgeting (tokens.ts): which text of a message or tool is
 * counted, the UTF-8 byte length that bounds any BPE count from above, the
 * shape of a tokenizer (bound outside the core, in _shared/tokenizer/), and
 * the shape of a conversation for trimming (which messages must stay, which
 * go together).
 */
import type { LLMMessage, LLMSystemMessage, LLMTool } from "./types.ts";

/**
 * Tokens charged per message for its role and delimiters. OpenAI's chat
 * format spends 3–4; other providers are similar, and the fit margin absorbs
 * the rest.
 */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/**
 * Tokens charged per image: an estimate meant as an upper bound for typical
 * images, since the real cost depends on pixel size and detail and is not
 * known before the provider decodes the image (OpenAI: 85 at low detail,
 * 765 for 1024×1024 at high detail; Anthropic: about 1,000 for a 850×850
 * image). Very large high-detail images can cost somewhat more.
 */
export const IMAGE_TOKENS = 1_000;

/** A BPE vocabulary we can count exactly. */
export type EncoderFamily = "o200k" | "cl100k";

/** Counts the tokens of one text. */
export type TokenCounter = (text: string) => number;

/**
 * Loads the counter of one family. Injected: production passes the
 * gpt-tokenizer binding, tests a deterministic counter.
 */
export type EncoderLoader = (family: EncoderFamily) => Promise<TokenCounter>;

/**
 * An upper bound of the UTF-8 length of `text` that costs nothing to compute:
 * a UTF-16 code unit never takes more than 3 UTF-8 bytes.
 */
export function utf8UpperBound(text: string): number {
  return text.length * 3;
}

/**
 * The UTF-8 length of `text`. Native encoding is used rather than a JS loop
 * because most requests run on a cold isolate, where the loop is not yet
 * compiled and is several times slower for long texts.
 */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

/**
 * What one message costs under `measure` (a token counter, or `utf8Length`
 * for an upper bound): the fixed overhead, its text, tool calls' names and
 * arguments, and a fixed charge per image (image URLs are not tokenized).
 */
export function messageCost(message: LLMMessage, measure: TokenCounter): number {
  let cost = MESSAGE_OVERHEAD_TOKENS;
  switch (message.role) {
    case "system":
    case "tool":
      return cost + measure(message.content);
    case "user":
      if (typeof message.content === "string") return cost + measure(message.content);
      for (const part of message.content) {
        cost += part.type === "text" ? measure(part.text) : IMAGE_TOKENS;
      }
      return cost;
    case "assistant":
      if (message.content) cost += measure(message.content);
      for (const call of message.toolCalls ?? []) {
        cost += measure(call.name) + measure(call.arguments);
      }
      // Reasoning sent back (Anthropic's thinking blocks) is input too.
      for (const part of message.reasoning ?? []) {
        cost += measure(part.type === "thinking" ? part.text : part.data);
      }
      return cost;
  }
}

/** What the tool definitions cost under `measure`: their JSON text, as providers receive it. */
export function toolsCost(tools: readonly LLMTool[] | undefined, measure: TokenCounter): number {
  let cost = 0;
  for (const tool of tools ?? []) cost += measure(JSON.stringify(tool));
  return cost;
}

/** What messages and tools cost together under `measure`. */
export function conversationCost(
  messages: readonly LLMMessage[],
  tools: readonly LLMTool[] | undefined,
  measure: TokenCounter,
): number {
  return sum(messages.map((message) => messageCost(message, measure))) + toolsCost(tools, measure);
}

/**
 * The messages that may be dropped, grouped into units that go together and
 * ordered oldest first. An assistant message with tool calls forms one unit
 * with the tool messages answering it, so no call loses its results and no
 * result loses its call. A unit with any protected member is kept whole.
 */
export function droppableUnits(messages: LLMMessage[]): number[][] {
  const units: number[][] = [];
  const unitOfCall = new Map<string, number[]>();
  for (const [index, message] of messages.entries()) {
    const owner = message.role === "tool" ? unitOfCall.get(message.toolCallId) : undefined;
    if (owner) {
      owner.push(index);
      continue;
    }
    const unit = [index];
    units.push(unit);
    if (message.role === "assistant") {
      for (const call of message.toolCalls ?? []) unitOfCall.set(call.id, unit);
    }
  }
  const tailStart = protectedTailStart(messages);
  const isProtected = (i: number) => {
    const message = messages[i];
    return i >= tailStart || message.role === "system" ||
      ("pinned" in message && message.pinned === true);
  };
  return units.filter((unit) => !unit.some(isProtected));
}

/** The current question and everything after it stay; without a user message, the last message does. */
function protectedTailStart(messages: LLMMessage[]): number {
  const lastUser = messages.findLastIndex((message) => message.role === "user");
  return lastUser >= 0 ? lastUser : messages.length - 1;
}

/** The remaining messages in their original order, the summary right after the leading system messages. */
export function keptMessages(
  messages: LLMMessage[],
  droppedUnits: number[][],
  summary: LLMSystemMessage | undefined,
): LLMMessage[] {
  const dropped = new Set(droppedUnits.flat());
  const kept = messages.filter((_, index) => !dropped.has(index));
  if (!summary) return kept;
  const leading = kept.findIndex((message) => message.role !== "system");
  kept.splice(leading === -1 ? kept.length : leading, 0, summary);
  return kept;
}

/** The sum of `values`. */
export function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
