/**
 * The one request/response format every provider adapter speaks: messages,
 * tools, chat requests and responses, typed stream events and embeddings.
 * Shapes follow OpenAI's where a choice was needed (tool arguments are JSON
 * text, tool results are their own messages) so the OpenAI-compatible API
 * maps onto them one to one.
 */

/** Plain text in a message. */
export interface LLMTextPart {
  type: "text";
  text: string;
}

/** An image, as an `https:` URL or a `data:image/...;base64,` URL. */
export interface LLMImagePart {
  type: "image";
  url: string;
  detail?: "auto" | "low" | "high";
}

/** One part of a user message. */
export type LLMContentPart = LLMTextPart | LLMImagePart;

/** A tool call the model asked for; `arguments` is JSON text, possibly invalid. */
export interface LLMToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The system prompt; trimming always keeps it. */
export interface LLMSystemMessage {
  role: "system";
  content: string;
}

/** A user turn; `pinned` keeps it when old turns are trimmed. */
export interface LLMUserMessage {
  role: "user";
  content: string | LLMContentPart[];
  pinned?: boolean;
}

/** An assistant turn: text, tool calls, or both. */
export interface LLMAssistantMessage {
  role: "assistant";
  content: string | null;
  toolCalls?: LLMToolCall[];
  pinned?: boolean;
}

/** A tool's result, answering the call with `toolCallId`. */
export interface LLMToolMessage {
  role: "tool";
  toolCallId: string;
  content: string;
}

/** Any message of a conversation. */
export type LLMMessage = LLMSystemMessage | LLMUserMessage | LLMAssistantMessage | LLMToolMessage;

/** A JSON Schema object (kept loose: providers validate it). */
export type JsonSchema = Record<string, unknown>;

/** A function the model may call. */
export interface LLMTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: JsonSchema;
}

/** Whether and which tool the model must call. */
export type LLMToolChoice = "auto" | "none" | "required" | { name: string };

/** Output format constraints. */
export type LLMResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: JsonSchema; strict?: boolean };

/** A chat request, independent of provider. `model` is set per target by the router. */
export interface LLMChatRequest {
  messages: LLMMessage[];
  model?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  tools?: LLMTool[];
  toolChoice?: LLMToolChoice;
  /** Allow several tool calls in one turn (default true). */
  parallelToolCalls?: boolean;
  responseFormat?: LLMResponseFormat;
  /** A stable, non-identifying end-user id for the provider's abuse tracking. */
  user?: string;
}

/** Why generation stopped, in OpenAI's vocabulary. */
export type LLMFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Tokens as the provider reported them. `inputTokens` includes cached and cache-write tokens. */
export interface LLMUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (billed at the cached price). */
  cachedInputTokens: number;
  /** Input tokens written to the prompt cache (Anthropic; billed at the cache-write price). */
  cacheWriteTokens: number;
}

/** A finished chat answer. */
export interface LLMChatResponse {
  text: string;
  toolCalls: LLMToolCall[];
  finishReason: LLMFinishReason;
  usage: LLMUsage;
  provider: string;
  model: string;
}

/**
 * What a stream yields, in order: one `start`, then text and tool-call
 * deltas, then one `finish`. A failure is thrown from the iterator as an
 * `LLMError`, never yielded as a part.
 */
export type LLMStreamEvent =
  | { type: "start"; provider: string; model: string }
  | { type: "text-delta"; text: string }
  | {
    type: "tool-call-delta";
    /** Position of the call in this turn; deltas with the same index belong together. */
    index: number;
    /** Present on a call's first delta. */
    id?: string;
    /** Present on a call's first delta. */
    name?: string;
    argumentsDelta: string;
  }
  | { type: "finish"; finishReason: LLMFinishReason; usage: LLMUsage };

/** Texts to embed. */
export interface LLMEmbeddingRequest {
  input: string[];
  model?: string;
  dimensions?: number;
}

/** One vector per input, in input order. */
export interface LLMEmbeddingResponse {
  embeddings: number[][];
  usage: { inputTokens: number };
  provider: string;
  model: string;
}
