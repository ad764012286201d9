/**
 * Answers in the Responses API's words: a finished answer is one `response`
 * object whose `output` holds the reasoning items (summary text, signature as
 * `encrypted_content`), the message (`output_text`) and the function calls, in
 * that order; a stream is OpenAI's event sequence (`openai-responses-stream.ts`).
 */
import type { ResponseOutputItem } from "openai/resources/responses/responses";
import type { LLMReasoningPart } from "../llm/types.ts";
import type { ChatAnswer, ChatRenderer } from "./chat-dialect.ts";
import { responsesStream } from "./openai-responses-stream.ts";
import {
  finishedState,
  itemIds,
  type ResponseEnvelope,
  responseObject,
  usageToResponses,
  type WireResponse,
} from "./openai-responses-wire.ts";

/** The renderer of one Responses request. */
export function responsesRenderer(envelope: ResponseEnvelope): ChatRenderer {
  return {
    json: (answer) => responseOf(envelope, answer),
    stream: (route) => responsesStream(envelope, route.model),
  };
}

/** A finished answer as a `response` object. */
function responseOf(envelope: ResponseEnvelope, answer: ChatAnswer): WireResponse {
  const nextId = itemIds(envelope.id);
  const state = finishedState(answer.finishReason);
  const status = state.status === "completed" ? "completed" : "incomplete";
  const output: ResponseOutputItem[] = (answer.reasoning ?? []).map((part) =>
    reasoningItem(part, nextId("rs"))
  );
  if (answer.text !== "" || answer.toolCalls.length === 0) {
    output.push({
      id: nextId("msg"),
      type: "message",
      role: "assistant",
      status,
      content: [{ type: "output_text", text: answer.text, annotations: [], logprobs: [] }],
    });
  }
  for (const call of answer.toolCalls) {
    output.push({
      id: nextId("fc"),
      type: "function_call",
      call_id: call.id,
      name: call.name,
      arguments: call.arguments,
      status,
    });
  }
  return responseObject(envelope, answer.model, {
    ...state,
    output,
    usage: usageToResponses(answer.usage),
  });
}

/** A thinking block as a reasoning item with one summary part; a redacted one has none. */
function reasoningItem(part: LLMReasoningPart, id: string): ResponseOutputItem {
  return part.type === "thinking"
    ? {
      id,
      type: "reasoning",
      summary: [{ type: "summary_text", text: part.text }],
      ...(part.signature !== undefined ? { encrypted_content: part.signature } : {}),
      status: "completed",
    }
    : { id, type: "reasoning", summary: [], encrypted_content: part.data, status: "completed" };
}
