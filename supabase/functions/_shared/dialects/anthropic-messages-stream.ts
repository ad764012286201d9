/**
 * The gateway's stream events as Anthropic's: `message_start`, `ping`, then
 * content blocks (`content_block_start`, `content_block_delta` with
 * `text_delta`, `thinking_delta`, `signature_delta` or `input_json_delta`,
 * `content_block_stop`), then `message_delta` with the stop reason and usage
 * and `message_stop`; a failure after the start is an `error` event.
 *
 * Anthropic numbers content blocks (thinking, text and tool use together) in
 * the order they start, one open at a time, and clients assemble the message
 * by those numbers; the gateway's events number tool calls only. So this
 * writer opens a block when the kind of content changes, closes the one
 * before, and remembers which block holds which tool call.
 */
import type {
  RawContentBlockDeltaEvent,
  RawContentBlockStartEvent,
  RawMessageDeltaEvent,
  RawMessageStartEvent,
} from "@anthropic-ai/sdk/resources/messages";
import type { LLMError } from "../llm/errors.ts";
import type { ChatStreamEvent, StreamRenderer } from "./chat-dialect.ts";
import {
  anthropicErrorBody,
  stopReasonToAnthropic,
  usageToAnthropic,
} from "./anthropic-messages-render.ts";

type BlockStart = RawContentBlockStartEvent["content_block"];
type BlockDelta = RawContentBlockDeltaEvent["delta"];

const sse = (type: string, data: object) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** The open block: what it holds (a tool call by its index in the turn). */
type OpenBlock =
  | { kind: "text" | "thinking" }
  | { kind: "tool"; call: number };

/** Writes one Messages stream; one instance per stream. */
export class AnthropicStreamWriter implements StreamRenderer {
  /** Blocks started so far: the next block's index. */
  #blocks = 0;
  #open: OpenBlock | undefined;
  /** Block index of each tool call, by the call's index in the turn. */
  #toolBlocks = new Map<number, number>();

  /** `id`: the message id; `model`: the model serving the stream. */
  constructor(private readonly id: string, private readonly model: string) {}

  event(event: ChatStreamEvent): string {
    switch (event.type) {
      case "start":
        return this.#start(event.model || this.model);
      case "text-delta":
        if (event.text === "") return "";
        return this.#into({ kind: "text" }, { type: "text", text: "", citations: null }) +
          this.#delta({ type: "text_delta", text: event.text });
      case "reasoning-delta":
        if (event.text === "") return "";
        return this.#into({ kind: "thinking" }, { type: "thinking", thinking: "", signature: "" }) +
          this.#delta({ type: "thinking_delta", thinking: event.text });
      case "reasoning-signature":
        // A signature ends its thinking block (which may have streamed no text, when omitted).
        return this.#into({ kind: "thinking" }, { type: "thinking", thinking: "", signature: "" }) +
          this.#delta({ type: "signature_delta", signature: event.signature }) + this.#close();
      case "reasoning-redacted":
        return this.#close() +
          this.#begin({ kind: "thinking" }, { type: "redacted_thinking", data: event.data }) +
          this.#close();
      case "tool-call-delta":
        return this.#toolDelta(event);
      case "finish":
        return this.#close() + sse("message_delta", messageDelta(event)) + sse("message_stop", {});
    }
  }

  error(error: LLMError): string {
    return sse(
      "error",
      anthropicErrorBody(error.status, error.code, error.message, { retryable: error.retryable }),
    );
  }

  #start(model: string): string {
    const message: RawMessageStartEvent["message"] = {
      id: this.id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      // Counts arrive with the end of the stream (message_delta carries them all).
      usage: usageToAnthropic({
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
      }),
    };
    return sse("message_start", { message }) + sse("ping", {});
  }

  #toolDelta(event: Extract<ChatStreamEvent, { type: "tool-call-delta" }>): string {
    let text = "";
    let block = this.#toolBlocks.get(event.index);
    if (block === undefined) {
      text += this.#close();
      block = this.#blocks;
      this.#toolBlocks.set(event.index, block);
      text += this.#begin({ kind: "tool", call: event.index }, {
        type: "tool_use",
        id: event.id ?? `toolu_${event.index}`,
        name: event.name ?? "",
        input: {},
        caller: { type: "direct" },
      });
    } else if (!this.#isOpen(event.index)) {
      // Arguments of a call whose block another already followed (a provider interleaving
      // parallel calls): sent on the call's own block all the same, since clients assemble
      // by block index and dropping them would corrupt the call.
      return event.argumentsDelta === "" ? "" : sse("content_block_delta", {
        index: block,
        delta: { type: "input_json_delta", partial_json: event.argumentsDelta },
      });
    }
    if (event.argumentsDelta !== "") {
      text += this.#delta({ type: "input_json_delta", partial_json: event.argumentsDelta });
    }
    return text;
  }

  #isOpen(call: number): boolean {
    return this.#open?.kind === "tool" && this.#open.call === call;
  }

  /** The block `kind` open: the current one if it is that kind, else a new one after closing it. */
  #into(kind: { kind: "text" | "thinking" }, start: BlockStart): string {
    if (this.#open?.kind === kind.kind) return "";
    return this.#close() + this.#begin(kind, start);
  }

  #begin(open: OpenBlock, start: BlockStart): string {
    this.#open = open;
    return sse("content_block_start", { index: this.#blocks++, content_block: start });
  }

  #delta(delta: BlockDelta): string {
    return sse("content_block_delta", { index: this.#blocks - 1, delta });
  }

  #close(): string {
    if (!this.#open) return "";
    this.#open = undefined;
    return sse("content_block_stop", { index: this.#blocks - 1 });
  }
}

/** The closing `message_delta`: the stop reason and the whole message's counts. */
function messageDelta(
  finish: Extract<ChatStreamEvent, { type: "finish" }>,
): Omit<RawMessageDeltaEvent, "type"> {
  const whole = usageToAnthropic(finish.usage);
  return {
    delta: {
      stop_reason: stopReasonToAnthropic(finish.finishReason),
      stop_sequence: null,
      stop_details: null,
      container: null,
    },
    usage: {
      input_tokens: whole.input_tokens,
      output_tokens: whole.output_tokens,
      cache_read_input_tokens: whole.cache_read_input_tokens,
      cache_creation_input_tokens: whole.cache_creation_input_tokens,
      output_tokens_details: whole.output_tokens_details,
      server_tool_use: null,
    },
  };
}
