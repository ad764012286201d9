/**
 * A JSON schema guaranteed by a forced tool call, for models whose provider
 * has no structured output of its own (catalog `structuredOutput: "tool"`):
 * the schema becomes the parameters of one extra tool the model must call,
 * and that call's arguments come back as the answer's content, in a JSON
 * answer and a stream alike. The caller sees what native structured output
 * gives: JSON text, finish reason `stop`, and only its own tool calls.
 */
import { batchedEvents, batchesOf, type EventBatches } from "./event-batches.ts";
import type { ProviderAdapter } from "./providers/provider.ts";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMFinishReason,
  LLMStreamEvent,
  LLMTool,
} from "./types.ts";

/** The name of the tool that carries the schema (suffixed when a caller's tool has it). */
export const SCHEMA_TOOL_NAME = "json_output";

/**
 * `request` with its `json_schema` format turned into a tool the model must
 * call: the only tool and named in `tool_choice` when the caller sent none;
 * beside the caller's tools with `required` otherwise (so the model either
 * calls one of them or answers through the schema). A caller's named tool
 * choice stands. Returns the request and the schema tool's name.
 */
export function schemaToolRequest(request: LLMChatRequest): {
  request: LLMChatRequest;
  toolName: string;
} {
  const format = request.responseFormat;
  if (format?.type !== "json_schema") throw new TypeError("the request has no JSON schema");
  const own = request.toolChoice === "none" ? [] : request.tools ?? [];
  let toolName = SCHEMA_TOOL_NAME;
  for (let i = 1; own.some((tool) => tool.name === toolName); i++) {
    toolName = `${SCHEMA_TOOL_NAME}_${i}`;
  }
  const tool: LLMTool = {
    name: toolName,
    description: `Give the final answer (${format.name}) as this function's arguments.`,
    parameters: format.schema,
  };
  const { responseFormat: _format, ...rest } = request;
  return {
    request: {
      ...rest,
      tools: [...own, tool],
      toolChoice: own.length === 0
        ? { name: toolName }
        : typeof request.toolChoice === "object"
        ? request.toolChoice
        : "required",
    },
    toolName,
  };
}

/** `adapter` with the schema tool's call turned back into content (see the module comment). */
export function schemaToolAdapter(adapter: ProviderAdapter, toolName: string): ProviderAdapter {
  return {
    name: adapter.name,
    chat: async (request, options) =>
      answerFromSchemaTool(await adapter.chat(request, options), toolName),
    stream: (request, options) => eventsFromSchemaTool(adapter.stream(request, options), toolName),
  };
}

/** A finished answer whose schema tool call became its text. */
export function answerFromSchemaTool(response: LLMChatResponse, toolName: string): LLMChatResponse {
  const schemaCall = response.toolCalls.find((call) => call.name === toolName);
  const others = response.toolCalls.filter((call) => call !== schemaCall);
  return {
    ...response,
    text: response.text + (schemaCall?.arguments ?? ""),
    toolCalls: others,
    finishReason: finishWithout(response.finishReason, others.length > 0),
  };
}

/**
 * The events of a stream whose schema tool call became text deltas; the
 * caller's own calls are renumbered from 0 in the order they began.
 */
export function eventsFromSchemaTool(
  events: AsyncIterable<LLMStreamEvent> | EventBatches,
  toolName: string,
): EventBatches {
  return batchedEvents((async function* () {
    const slots = new Map<number, number | "schema">();
    let nextSlot = 0;
    for await (const batch of batchesOf(events)) {
      const out: LLMStreamEvent[] = [];
      for (const event of batch) {
        if (event.type === "tool-call-delta") {
          let slot = slots.get(event.index);
          if (slot === undefined) {
            slot = event.name === toolName ? "schema" : nextSlot++;
            slots.set(event.index, slot);
          }
          if (slot !== "schema") out.push({ ...event, index: slot });
          else if (event.argumentsDelta) {
            out.push({ type: "text-delta", text: event.argumentsDelta });
          }
        } else if (event.type === "finish") {
          out.push({ ...event, finishReason: finishWithout(event.finishReason, nextSlot > 0) });
        } else {
          out.push(event);
        }
      }
      if (out.length > 0) yield out;
    }
  })());
}

/** `tool_calls` only while a caller's own call remains; the schema call was the answer. */
function finishWithout(reason: LLMFinishReason, ownCalls: boolean): LLMFinishReason {
  return reason === "tool_calls" && !ownCalls ? "stop" : reason;
}
