/**
 * Chat Completions stream chunks → shared stream events. The state remembers
 * the finish reason and usage, which arrive in separate chunks near the end,
 * so the adapter can emit `finish` only once the upstream stream is over.
 */
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { LLMFinishReason, LLMStreamEvent } from "../types.ts";
import {
  type CompatibleReasoning,
  openAIFinishReason,
  openAIUsage,
  reasoningText,
} from "./openai-mapping.ts";

/** Groq reports stream usage on the last chunk under `x_groq` instead of a usage chunk. */
interface CompatibleChunk extends ChatCompletionChunk {
  x_groq?: { usage?: CompletionUsage | null } | null;
}

/** Folds chunks into events; one instance per stream. */
export class OpenAIStreamState {
  #started = false;
  #finishReason: LLMFinishReason | undefined;
  #usage: CompletionUsage | undefined;
  /** Highest tool-call index seen, for servers that omit `index`. */
  #lastToolIndex = -1;

  constructor(private readonly provider: string, private readonly requestedModel: string) {}

  /** The events one chunk contributes; the first chunk also yields `start`. */
  push(chunk: CompatibleChunk): LLMStreamEvent[] {
    const events: LLMStreamEvent[] = [];
    if (!this.#started) {
      this.#started = true;
      events.push({
        type: "start",
        provider: this.provider,
        model: chunk.model || this.requestedModel,
      });
    }
    const usage = chunk.usage ?? chunk.x_groq?.usage;
    if (usage) this.#usage = usage;
    const choice = chunk.choices?.[0];
    if (!choice) return events;
    const delta: ChatCompletionChunk.Choice.Delta & CompatibleReasoning = choice.delta ?? {};
    const reasoning = reasoningText(delta);
    if (reasoning) events.push({ type: "reasoning-delta", text: reasoning });
    if (delta.content) events.push({ type: "text-delta", text: delta.content });
    for (const call of delta.tool_calls ?? []) {
      events.push({
        type: "tool-call-delta",
        index: this.#toolIndex(call.index, call.id),
        ...(call.id ? { id: call.id } : {}),
        ...(call.function?.name ? { name: call.function.name } : {}),
        argumentsDelta: call.function?.arguments ?? "",
      });
    }
    if (choice.finish_reason) this.#finishReason = openAIFinishReason(choice.finish_reason);
    return events;
  }

  /** The closing event, or undefined when no finish reason ever came (the stream was cut). */
  finish(): LLMStreamEvent | undefined {
    if (this.#finishReason === undefined) return undefined;
    return { type: "finish", finishReason: this.#finishReason, usage: openAIUsage(this.#usage) };
  }

  // Some compatible servers send whole calls without `index`: a new id starts the next call.
  #toolIndex(index: number | undefined, id: string | undefined): number {
    if (typeof index === "number") {
      this.#lastToolIndex = Math.max(this.#lastToolIndex, index);
      return index;
    }
    if (id || this.#lastToolIndex < 0) this.#lastToolIndex++;
    return this.#lastToolIndex;
  }
}
