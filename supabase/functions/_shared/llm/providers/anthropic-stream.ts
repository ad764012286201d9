/**
 * Anthropic's raw stream events → shared stream events. Anthropic numbers
 * content blocks (thinking, text and tool use together); the shared stream
 * numbers tool calls only, so block indexes are translated here. A thinking
 * block streams as reasoning deltas ended by its signature; a redacted one
 * arrives whole.
 */
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import type { LLMFinishReason, LLMStreamEvent } from "../types.ts";
import {
  anthropicFinishReason,
  anthropicUsage,
  type AnthropicUsageFields,
} from "./anthropic-mapping.ts";

interface ToolBlock {
  index: number;
  /** The input given at block start, sent if no argument text follows. */
  input: unknown;
  sawArguments: boolean;
}

/** Folds raw events into shared events; one instance per stream. */
export class AnthropicStreamState {
  #started = false;
  #stopped = false;
  #finishReason: LLMFinishReason = "stop";
  #usage: AnthropicUsageFields = {};
  #toolBlocks = new Map<number, ToolBlock>();
  /** Open thinking blocks: the signature given at block start, until one is streamed. */
  #thinkingBlocks = new Map<number, { signature: string; signed: boolean }>();

  constructor(private readonly provider: string, private readonly requestedModel: string) {}

  /** The events one raw event contributes; the first also yields `start`. */
  push(event: RawMessageStreamEvent): LLMStreamEvent[] {
    const events: LLMStreamEvent[] = [];
    if (!this.#started) {
      this.#started = true;
      const model = event.type === "message_start" ? event.message.model : "";
      events.push({ type: "start", provider: this.provider, model: model || this.requestedModel });
    }
    switch (event.type) {
      case "message_start":
        this.#mergeUsage(event.message.usage);
        break;
      case "content_block_start":
        if (event.content_block.type === "thinking") {
          const { thinking, signature } = event.content_block;
          this.#thinkingBlocks.set(event.index, { signature: signature ?? "", signed: false });
          if (thinking) events.push({ type: "reasoning-delta", text: thinking });
        }
        if (event.content_block.type === "redacted_thinking") {
          events.push({ type: "reasoning-redacted", data: event.content_block.data });
        }
        if (event.content_block.type === "tool_use") {
          const block = {
            index: this.#toolBlocks.size,
            input: event.content_block.input,
            sawArguments: false,
          };
          this.#toolBlocks.set(event.index, block);
          events.push({
            type: "tool-call-delta",
            index: block.index,
            id: event.content_block.id,
            name: event.content_block.name,
            argumentsDelta: "",
          });
        }
        break;
      case "content_block_delta": {
        const { delta } = event;
        if (delta.type === "text_delta" && delta.text) {
          events.push({ type: "text-delta", text: delta.text });
        }
        if (delta.type === "thinking_delta" && delta.thinking) {
          events.push({ type: "reasoning-delta", text: delta.thinking });
        }
        const thinking = this.#thinkingBlocks.get(event.index);
        if (delta.type === "signature_delta" && thinking) {
          thinking.signed = true;
          events.push({ type: "reasoning-signature", signature: delta.signature });
        }
        const block = this.#toolBlocks.get(event.index);
        if (delta.type === "input_json_delta" && block && delta.partial_json) {
          block.sawArguments = true;
          events.push({
            type: "tool-call-delta",
            index: block.index,
            argumentsDelta: delta.partial_json,
          });
        }
        break;
      }
      case "content_block_stop": {
        // A signature given whole at block start (none streamed) still ends the block.
        const thinking = this.#thinkingBlocks.get(event.index);
        if (thinking && !thinking.signed && thinking.signature) {
          events.push({ type: "reasoning-signature", signature: thinking.signature });
        }
        this.#thinkingBlocks.delete(event.index);
        // A tool without parameters may stream no argument text; "{}" keeps the call parseable.
        const block = this.#toolBlocks.get(event.index);
        if (block && !block.sawArguments) {
          block.sawArguments = true;
          events.push({
            type: "tool-call-delta",
            index: block.index,
            argumentsDelta: JSON.stringify(block.input ?? {}),
          });
        }
        break;
      }
      case "message_delta":
        if (event.delta.stop_reason) {
          this.#finishReason = anthropicFinishReason(event.delta.stop_reason);
        }
        this.#mergeUsage(event.usage);
        break;
      case "message_stop":
        this.#stopped = true;
        break;
    }
    return events;
  }

  /** The closing event, or undefined when `message_stop` never came (the stream was cut). */
  finish(): LLMStreamEvent | undefined {
    if (!this.#stopped) return undefined;
    return { type: "finish", finishReason: this.#finishReason, usage: anthropicUsage(this.#usage) };
  }

  // message_delta counts are cumulative; null means "unchanged since message_start".
  #mergeUsage(usage: AnthropicUsageFields | null | undefined): void {
    const known = this.#usage;
    this.#usage = {
      input_tokens: usage?.input_tokens ?? known.input_tokens,
      output_tokens: usage?.output_tokens ?? known.output_tokens,
      cache_read_input_tokens: usage?.cache_read_input_tokens ?? known.cache_read_input_tokens,
      cache_creation_input_tokens: usage?.cache_creation_input_tokens ??
        known.cache_creation_input_tokens,
      output_tokens_details: usage?.output_tokens_details ?? known.output_tokens_details,
    };
  }
}
