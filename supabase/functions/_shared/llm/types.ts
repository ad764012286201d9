/**
 * The one request/response format every provider adapter speaks: messages,
 * tools, chat requests and responses, typed stream events and embeddings.
 * Shapes follow OpenAI's where a choice was needed (tool arguments are JSON
 * text, tool results are their own messages) so the OpenAI-compatible API
 * maps onto them one to one.
 */

/**
 * Marks the end of a prompt prefix for the provider's prompt cache
 * (Anthropic's `cache_control`). Providers that cache on their own (OpenAI)
 * or not at all ignore it.
 */
export interface LLMCacheControl {
  type: "ephemeral";
  ttl?: "5m" | "1h";
}

/** Plain text in a message. */
export interface LLMTextPart {
  type: "text";
  text: string;
  cacheControl?: LLMCacheControl;
}

/** An image, as an `https:` URL or a `data:image/...;base64,` URL. */
export interface LLMImagePart {
  type: "image";
  url: string;
  detail?: "auto" | "low" | "high";
  cacheControl?: LLMCacheControl;
}

/**
 * The model's reasoning as its provider returned it, kept whole so it can be
 * sent back on the next turn (Anthropic verifies the signature).
 */
export type LLMReasoningPart =
  | { type: "thinking"; text: string; signature?: string }
  | { type: "redacted_thinking"; data: string };

/** One part of a user message. */
export type LLMContentPart = LLMTextPart | LLMImagePart;

/** A tool call the model asked for; `arguments` is JSON text, possibly invalid. */
export interface LLMToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The system prompt; trimming always keeps it. Several are sent as consecutive blocks. */
export interface LLMSystemMessage {
  role: "system";
  content: string;
  cacheControl?: LLMCacheControl;
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
  /** Reasoning that came before the text and tool calls, returned as received. */
  reasoning?: LLMReasoningPart[];
  pinned?: boolean;
  /** Marks the end of a cached prefix at this turn's last text or tool-call block. */
  cacheControl?: LLMCacheControl;
}

/** A tool's result, answering the call with `toolCallId`. */
export interface LLMToolMessage {
  role: "tool";
  toolCallId: string;
  content: string;
  /** The tool failed and `content` says how (Anthropic's `is_error`). */
  isError?: boolean;
  cacheControl?: LLMCacheControl;
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
  cacheControl?: LLMCacheControl;
}

/** Whether and which tool the model must call. */
export type LLMToolChoice = "auto" | "none" | "required" | { name: string };

/** Output format constraints. */
export type LLMResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: JsonSchema; strict?: boolean };

/** The reasoning effort levels, lowest first. */
export const LLM_REASONING_EFFORTS = [
  "none",
  "minimal",
  "low",
  "medium",
  "high",
  "xhigh",
  "max",
] as const;

/** How hard a reasoning model should think, in the words callers use across dialects. */
export type LLMReasoningEffort = typeof LLM_REASONING_EFFORTS[number];

/**
 * A request for reasoning, mapped to each provider's own control (OpenAI's
 * `reasoning_effort`, Anthropic's `thinking` and `output_config.effort`);
 * dropped with a warning where the model has none.
 */
export interface LLMReasoningRequest {
  effort?: LLMReasoningEffort;
  /** An explicit thinking budget (Anthropic `thinking.budget_tokens`). */
  budgetTokens?: number;
}

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
  reasoning?: LLMReasoningRequest;
  /** Cache the whole prompt prefix (Anthropic's top-level `cache_control`). */
  cacheControl?: LLMCacheControl;
  /**
   * Fields in one provider's own words, sent as given when that provider
   * serves the request and ignored otherwise (an Anthropic Messages body's
   * `thinking` and `output_config` reaching Claude untouched).
   */
  passthrough?: { anthropic?: Record<string, unknown> };
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
  /** Output tokens spent reasoning: part of `outputTokens`, billed at the output price. */
  reasoningTokens?: number;
}

/** A finished chat answer. */
export interface LLMChatResponse {
  text: string;
  toolCalls: LLMToolCall[];
  /** The model's reasoning, where the provider returns it. */
  reasoning?: LLMReasoningPart[];
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
  /**
   * Reasoning text as it streams; a thinking block ends with its signature
   * (Anthropic). Providers without signatures (DeepSeek, OpenRouter) send
   * none: their reasoning ends with the first text or tool-call delta.
   */
  | { type: "reasoning-delta"; text: string }
  | { type: "reasoning-signature"; signature: string }
  /** A whole redacted thinking block. */
  | { type: "reasoning-redacted"; data: string }
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
