/**
 * Exact-match response cache. The key is a SHA-256 (Web Crypto) of the
 * request in canonical form (routing fields, messages, tools, parameters)
 * under a scope that names the account, so an answer is never served to
 * another account. Answers live in the StateStore with a TTL; a cached answer
 * can be replayed as a stream.
 */
import type { RouteRequest } from "../llm/route-types.ts";
import type {
  LLMChatResponse,
  LLMReasoningPart,
  LLMStreamEvent,
  LLMToolCall,
} from "../llm/types.ts";
import type { StateStore } from "../store/state-store.ts";

/** Whether the answer came from the cache: `x-llm-cache`. */
export type CacheStatus = "HIT" | "MISS" | "BYPASS";

/** An answer as cached. */
export interface CachedAnswer extends LLMChatResponse {
  /** When it was first answered (epoch ms). */
  cachedAt: number;
}

/** JSON with object keys sorted, so equal requests hash equally however they were written. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * The cache key of `request` within `scope` (e.g. `acct:<id>`). `user` is
 * left out: it only labels the end user for the provider's abuse tracking.
 */
export async function responseCacheKey(scope: string, request: RouteRequest): Promise<string> {
  const { user: _user, ...chat } = request.chat;
  const normalized = canonicalJson({
    v: 1,
    useCase: request.useCase,
    tier: request.tier,
    agentId: request.agentId,
    modelOverride: request.modelOverride,
    chat,
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(normalized));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `cache:${scope}:${hex}`;
}

/** Cached answers in a StateStore. */
export class ResponseCache {
  constructor(
    private readonly store: StateStore,
    private readonly ttlMs: number,
    /** Answers larger than this (JSON bytes) are not kept: one answer must not crowd out thousands. */
    private readonly maxBytes = 262_144,
  ) {}

  /** The cached answer at `key`, if any. */
  get(key: string): Promise<CachedAnswer | undefined> {
    return this.store.get<CachedAnswer>(key);
  }

  /** Keeps `answer` at `key`; false when it was too large to keep. */
  async put(key: string, answer: LLMChatResponse, now: number): Promise<boolean> {
    const entry: CachedAnswer = {
      text: answer.text,
      toolCalls: answer.toolCalls,
      finishReason: answer.finishReason,
      usage: answer.usage,
      provider: answer.provider,
      model: answer.model,
      ...(answer.reasoning?.length ? { reasoning: answer.reasoning } : {}),
      cachedAt: now,
    };
    if (JSON.stringify(entry).length > this.maxBytes) return false;
    await this.store.set(key, entry, this.ttlMs);
    return true;
  }
}

/** Rebuilds a finished answer from stream events, so a streamed miss can fill the cache. */
export class StreamedAnswer {
  #text = "";
  readonly #reasoning: LLMReasoningPart[] = [];
  /** The thinking block being streamed, until its signature (or the end) closes it. */
  #thinking?: { type: "thinking"; text: string; signature?: string };
  readonly #calls = new Map<number, LLMToolCall>();
  #finish?: Extract<LLMStreamEvent, { type: "finish" }>;
  #start?: Extract<LLMStreamEvent, { type: "start" }>;

  /** Takes in one event as it passes to the caller. */
  observe(event: LLMStreamEvent): void {
    switch (event.type) {
      case "start":
        this.#start = event;
        break;
      case "text-delta":
        this.#text += event.text;
        break;
      case "reasoning-delta":
        if (!this.#thinking) {
          this.#thinking = { type: "thinking", text: "" };
          this.#reasoning.push(this.#thinking);
        }
        this.#thinking.text += event.text;
        break;
      case "reasoning-signature":
        if (this.#thinking) this.#thinking.signature = event.signature;
        else this.#reasoning.push({ type: "thinking", text: "", signature: event.signature });
        this.#thinking = undefined;
        break;
      case "reasoning-redacted":
        this.#thinking = undefined;
        this.#reasoning.push({ type: "redacted_thinking", data: event.data });
        break;
      case "tool-call-delta": {
        const call = this.#calls.get(event.index) ?? { id: "", name: "", arguments: "" };
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        call.arguments += event.argumentsDelta;
        this.#calls.set(event.index, call);
        break;
      }
      case "finish":
        this.#finish = event;
    }
  }

  /** The whole answer, once the stream finished. */
  answer(): LLMChatResponse | undefined {
    if (!this.#start || !this.#finish) return undefined;
    return {
      text: this.#text,
      toolCalls: [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
      finishReason: this.#finish.finishReason,
      usage: this.#finish.usage,
      provider: this.#start.provider,
      model: this.#start.model,
      ...(this.#reasoning.length ? { reasoning: this.#reasoning } : {}),
    };
  }
}

/** A cached answer as the events a live stream would have sent. */
export function replayEvents(answer: LLMChatResponse): LLMStreamEvent[] {
  const events: LLMStreamEvent[] = [
    { type: "start", provider: answer.provider, model: answer.model },
  ];
  for (const part of answer.reasoning ?? []) {
    if (part.type === "redacted_thinking") {
      events.push({ type: "reasoning-redacted", data: part.data });
      continue;
    }
    if (part.text) events.push({ type: "reasoning-delta", text: part.text });
    if (part.signature !== undefined) {
      events.push({ type: "reasoning-signature", signature: part.signature });
    }
  }
  if (answer.text) events.push({ type: "text-delta", text: answer.text });
  answer.toolCalls.forEach((call, index) =>
    events.push({
      type: "tool-call-delta",
      index,
      id: call.id,
      name: call.name,
      argumentsDelta: call.arguments,
    })
  );
  events.push({ type: "finish", finishReason: answer.finishReason, usage: answer.usage });
  return events;
}
