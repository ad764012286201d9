/**
 * A Responses stream: the gateway's stream events as OpenAI's event sequence,
 * each numbered (`sequence_number`) and named (`event:`) as OpenAI sends it.
 *
 *   response.created, response.in_progress
 *   per item: response.output_item.added, its deltas, response.output_item.done
 *     message:       content_part.added, output_text.delta…, output_text.done, content_part.done
 *     function_call: function_call_arguments.delta…, function_call_arguments.done
 *     reasoning:     reasoning_summary_part.added, reasoning_summary_text.delta…, …done
 *   response.completed (or response.incomplete) with the output and usage
 *
 * Text and reasoning come in runs: a new item of another kind ends the open
 * message or reasoning item. Function calls stay open until the end, since the
 * deltas of parallel calls may interleave. A failure after the first byte is
 * an `error` event with the gateway's code, then `response.failed`.
 */
import type {
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseReasoningItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import type { ChatStreamEvent, StreamRenderer } from "./chat-dialect.ts";
import {
  finishedState,
  itemIds,
  type ResponseEnvelope,
  responseObject,
  type ResponseState,
  usageToResponses,
  type WireResponse,
} from "./openai-responses-wire.ts";

/** An event as sent: its `response` without the SDK-made `output_text`. */
type OnWire<E> = E extends { response: unknown } ? Omit<E, "response"> & { response: WireResponse }
  : E;

/** A stream event before it is numbered. */
type Unnumbered = ResponseStreamEvent extends infer E
  ? E extends { sequence_number: number } ? Omit<OnWire<E>, "sequence_number"> : never
  : never;

type ItemStatus = "completed" | "incomplete";

interface OpenMessage {
  index: number;
  item: ResponseOutputMessage;
  part: ResponseOutputText;
}

interface OpenReasoning {
  index: number;
  item: ResponseReasoningItem;
  summary: { type: "summary_text"; text: string };
}

interface OpenCall {
  index: number;
  item: ResponseFunctionToolCall;
}

/** The writer of one Responses stream for `envelope`, served by `model`. */
export function responsesStream(envelope: ResponseEnvelope, model: string): StreamRenderer {
  const nextId = itemIds(envelope.id);
  const output: ResponseOutputItem[] = [];
  let sequence = 0;
  let started = false;
  let message: OpenMessage | undefined;
  let reasoning: OpenReasoning | undefined;
  /** Open calls by the stream's call index. */
  const calls = new Map<number, OpenCall>();

  const send = (event: Unnumbered): string =>
    `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`;
  const snapshot = (state: Omit<ResponseState, "output">) =>
    responseObject(envelope, model, { ...state, output });

  const start = (): string => {
    if (started) return "";
    started = true;
    const response = snapshot({ status: "in_progress" });
    return send({ type: "response.created", response }) +
      send({ type: "response.in_progress", response });
  };
  const add = (item: ResponseOutputItem): { index: number; text: string } => {
    const index = output.push(item) - 1;
    return { index, text: send({ type: "response.output_item.added", output_index: index, item }) };
  };
  const done = (index: number) =>
    send({ type: "response.output_item.done", output_index: index, item: output[index] });

  const openMessage = (): string => {
    const item: ResponseOutputMessage = {
      id: nextId("msg"),
      type: "message",
      role: "assistant",
      status: "in_progress",
      content: [],
    };
    const added = add(item);
    const part: ResponseOutputText = {
      type: "output_text",
      text: "",
      annotations: [],
      logprobs: [],
    };
    message = { index: added.index, item, part };
    const text = added.text + send({
      type: "response.content_part.added",
      item_id: item.id,
      output_index: added.index,
      content_index: 0,
      part,
    });
    item.content.push(part);
    return text;
  };
  const closeMessage = (status: ItemStatus = "completed"): string => {
    if (!message) return "";
    const { index, item, part } = message;
    message = undefined;
    const at = { item_id: item.id, output_index: index, content_index: 0 };
    item.status = status;
    return send({ type: "response.output_text.done", ...at, text: part.text, logprobs: [] }) +
      send({ type: "response.content_part.done", ...at, part }) + done(index);
  };

  const openReasoning = (): string => {
    const item: ResponseReasoningItem = { id: nextId("rs"), type: "reasoning", summary: [] };
    const added = add(item);
    const summary = { type: "summary_text" as const, text: "" };
    reasoning = { index: added.index, item, summary };
    const text = added.text + send({
      type: "response.reasoning_summary_part.added",
      item_id: item.id,
      output_index: added.index,
      summary_index: 0,
      part: summary,
    });
    item.summary.push(summary);
    return text;
  };
  const closeReasoning = (status: ItemStatus = "completed"): string => {
    if (!reasoning) return "";
    const { index, item, summary } = reasoning;
    reasoning = undefined;
    const at = { item_id: item.id, output_index: index, summary_index: 0 };
    item.status = status;
    return send({ type: "response.reasoning_summary_text.done", ...at, text: summary.text }) +
      send({ type: "response.reasoning_summary_part.done", ...at, part: summary }) + done(index);
  };

  const closeCalls = (status: ItemStatus = "completed"): string => {
    let text = "";
    for (const { index, item } of calls.values()) {
      item.status = status;
      text += send({
        type: "response.function_call_arguments.done",
        item_id: item.id!,
        output_index: index,
        arguments: item.arguments,
      }) + done(index);
    }
    calls.clear();
    return text;
  };

  return {
    event(event: ChatStreamEvent): string {
      switch (event.type) {
        case "start":
          return start();
        case "text-delta": {
          if (event.text === "") return "";
          let text = start() + closeReasoning();
          if (!message) text += openMessage();
          const { index, item, part } = message!;
          part.text += event.text;
          return text + send({
            type: "response.output_text.delta",
            item_id: item.id,
            output_index: index,
            content_index: 0,
            delta: event.text,
            logprobs: [],
          });
        }
        case "reasoning-delta": {
          let text = start() + closeMessage();
          if (!reasoning) text += openReasoning();
          const { index, item, summary } = reasoning!;
          summary.text += event.text;
          return text + send({
            type: "response.reasoning_summary_text.delta",
            item_id: item.id,
            output_index: index,
            summary_index: 0,
            delta: event.text,
          });
        }
        case "reasoning-signature": {
          // A thinking block ends with its signature, which the next turn must send back.
          let text = start() + closeMessage();
          if (!reasoning) text += openReasoning();
          reasoning!.item.encrypted_content = event.signature;
          return text + closeReasoning();
        }
        case "reasoning-redacted": {
          const text = start() + closeMessage() + closeReasoning();
          const added = add({
            id: nextId("rs"),
            type: "reasoning",
            summary: [],
            encrypted_content: event.data,
            status: "completed",
          });
          return text + added.text + done(added.index);
        }
        case "tool-call-delta": {
          let text = start();
          let call = calls.get(event.index);
          if (!call) {
            text += closeMessage() + closeReasoning();
            const item: ResponseFunctionToolCall = {
              id: nextId("fc"),
              type: "function_call",
              call_id: event.id ?? `call_${event.index}`,
              name: event.name ?? "",
              arguments: "",
              status: "in_progress",
            };
            const added = add(item);
            text += added.text;
            call = { index: added.index, item };
            calls.set(event.index, call);
          }
          if (event.argumentsDelta === "") return text;
          call.item.arguments += event.argumentsDelta;
          return text + send({
            type: "response.function_call_arguments.delta",
            item_id: call.item.id!,
            output_index: call.index,
            delta: event.argumentsDelta,
          });
        }
        case "finish": {
          const state = finishedState(event.finishReason);
          const status: ItemStatus = state.status === "completed" ? "completed" : "incomplete";
          let text = start();
          // An answer always has its message, as the JSON one does, even when it is empty.
          if (output.length === 0) text += openMessage();
          text += closeReasoning(status) + closeMessage(status) + closeCalls(status);
          const response = snapshot({ ...state, usage: usageToResponses(event.usage) });
          return text + send(
            state.status === "completed"
              ? { type: "response.completed", response }
              : { type: "response.incomplete", response },
          );
        }
      }
    },
    error(error) {
      let text = send({ type: "error", code: error.code, message: error.message, param: null });
      if (started) {
        const code = error.status === 429 ? "rate_limit_exceeded" : "server_error";
        text += send({
          type: "response.failed",
          response: snapshot({ status: "failed", error: { code, message: error.message } }),
        });
      }
      return text;
    },
  };
}
