/**
 * Answers in Anthropic's Messages format: a `message` object whose content
 * is the reasoning (thinking blocks with their signatures), the text and the
 * tool_use blocks, in that order; `stop_reason` and `usage` in Anthropic's
 * terms; errors as `{type:"error", error:{type, message, details}}` with the
 * gateway's code in `details.error_code`, which the official SDK reads as
 * `err.errorCode`. Typed by the SDK's own types, so the shapes cannot drift.
 */
import type {
  ContentBlock,
  Message,
  StopReason,
  Usage,
} from "@anthropic-ai/sdk/resources/messages";
import type { ErrorType } from "@anthropic-ai/sdk/resources/shared";
import { type HttpError, jsonResponse } from "../http/errors.ts";
import type { LLMFinishReason, LLMToolCall, LLMUsage } from "../llm/types.ts";
import type { ChatAnswer } from "./chat-dialect.ts";

/**
 * The gateway's finish reason as Anthropic's stop reason. A stop sequence
 * reads as `end_turn`: the gateway's vocabulary does not tell the two apart.
 */
export function stopReasonToAnthropic(reason: LLMFinishReason): StopReason {
  switch (reason) {
    case "length":
      return "max_tokens";
    case "tool_calls":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/**
 * The gateway's usage as Anthropic's: `input_tokens` there excludes the
 * tokens read from and written to the prompt cache, which the gateway's
 * count includes; reasoning tokens are part of `output_tokens` in both.
 */
export function usageToAnthropic(usage: LLMUsage): Usage {
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens),
    output_tokens: usage.outputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    output_tokens_details: usage.reasoningTokens === undefined
      ? null
      : { thinking_tokens: usage.reasoningTokens },
    cache_creation: null,
    inference_geo: null,
    server_tool_use: null,
    service_tier: null,
    speed: null,
  };
}

/**
 * A tool call's input as the object Anthropic's clients expect. Arguments
 * are JSON text a model may have garbled; then the text is kept under `_raw`
 * rather than lost.
 */
function toolInput(call: LLMToolCall): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(call.arguments || "{}");
    if (value && typeof value === "object" && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Fall through.
  }
  return { _raw: call.arguments };
}

/** A finished answer as an Anthropic `message`. */
export function messageToAnthropic(answer: ChatAnswer, id: string): Message {
  const content: ContentBlock[] = [];
  for (const part of answer.reasoning ?? []) {
    content.push(
      part.type === "thinking"
        ? { type: "thinking", thinking: part.text, signature: part.signature ?? "" }
        : { type: "redacted_thinking", data: part.data },
    );
  }
  // An answer with nothing else still has its (empty) text: clients read content[0].text.
  if (answer.text !== "" || (content.length === 0 && answer.toolCalls.length === 0)) {
    content.push({ type: "text", text: answer.text, citations: null });
  }
  for (const call of answer.toolCalls) {
    content.push({
      type: "tool_use",
      id: call.id,
      name: call.name,
      input: toolInput(call),
      caller: { type: "direct" },
    });
  }
  return {
    id,
    type: "message",
    role: "assistant",
    model: answer.model,
    content,
    stop_reason: stopReasonToAnthropic(answer.finishReason),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: usageToAnthropic(answer.usage),
  };
}

/** Anthropic's error type for an HTTP status. */
function anthropicErrorType(status: number): ErrorType | "request_too_large" {
  switch (status) {
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 409:
      return "conflict_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return status < 500 ? "invalid_request_error" : "api_error";
  }
}

/** The `{type:"error", error}` body of a failure: the gateway's code and details in `details`. */
export function anthropicErrorBody(
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): { type: "error"; error: { type: string; message: string; details: Record<string, unknown> } } {
  return {
    type: "error",
    error: { type: anthropicErrorType(status), message, details: { error_code: code, ...details } },
  };
}

/** An error response Anthropic's SDKs parse into their typed errors, `errorCode` the gateway's code. */
export function anthropicErrorResponse(error: HttpError): Response {
  return jsonResponse(
    anthropicErrorBody(error.status, error.code, error.message, error.details),
    error.status,
    error.headers,
  );
}
