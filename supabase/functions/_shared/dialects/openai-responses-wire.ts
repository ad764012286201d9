/**
 * The parts of a Responses answer that its JSON body and its stream share:
 * the `response` object around the output, its status from the finish
 * reason, its usage, and item ids. Typed by the openai SDK's own types, so
 * the SDK reads what we write.
 */
import type { Response, ResponseStatus, ResponseUsage } from "openai/resources/responses/responses";
import type { LLMFinishReason, LLMUsage } from "../llm/types.ts";

/** A `response` object as sent: `output_text` is the SDK's own convenience, never on the wire. */
export type WireResponse = Omit<Response, "output_text">;

/** What a response repeats of its request, and its id and creation time. */
export type ResponseEnvelope =
  & Pick<
    WireResponse,
    | "id"
    | "created_at"
    | "instructions"
    | "metadata"
    | "tools"
    | "tool_choice"
    | "text"
    | "reasoning"
    | "temperature"
    | "top_p"
    | "parallel_tool_calls"
    | "max_output_tokens"
  >
  & { user?: string };

/** How far a response got. */
export interface ResponseState {
  status: ResponseStatus;
  output: WireResponse["output"];
  usage?: ResponseUsage;
  incomplete_details?: WireResponse["incomplete_details"];
  error?: WireResponse["error"];
}

/** The `response` object of `envelope`, served by `model`, in `state`. */
export function responseObject(
  envelope: ResponseEnvelope,
  model: string,
  state: ResponseState,
): WireResponse {
  return {
    ...envelope,
    object: "response",
    model,
    status: state.status,
    output: state.output,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    previous_response_id: null,
    access_programs: null,
    background: false,
    truncation: "disabled",
    ...(state.usage ? { usage: state.usage } : {}),
  };
}

/** A finished response's status: cut short by the token limit or a filter is `incomplete`. */
export function finishedState(
  finishReason: LLMFinishReason,
): Pick<ResponseState, "status" | "incomplete_details"> {
  if (finishReason === "length") {
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  }
  if (finishReason === "content_filter") {
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  }
  return { status: "completed", incomplete_details: null };
}

/** The gateway's usage as the Responses API reports it (reasoning tokens are part of the output). */
export function usageToResponses(usage: LLMUsage): ResponseUsage {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: {
      cached_tokens: usage.cachedInputTokens,
      cache_write_tokens: usage.cacheWriteTokens,
    },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/** Ids for the items of the response `responseId` (`msg_…`, `fc_…`, `rs_…`), unique within it. */
export function itemIds(responseId: string): (prefix: "msg" | "fc" | "rs") => string {
  const suffix = responseId.replace(/^resp_/, "");
  let next = 0;
  return (prefix) => `${prefix}_${suffix}_${next++}`;
}
