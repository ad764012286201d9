/**
 * What every provider adapter implements: chat, stream and (where the
 * provider has them) embeddings, over the shared types. An adapter throws
 * `LLMError` (already classified and sanitized) for every failure, and never
 * retries: the router owns retries, timeouts and fallbacks.
 */
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMEmbeddingRequest,
  LLMEmbeddingResponse,
  LLMStreamEvent,
} from "../types.ts";

/** Per-call inputs the router supplies. */
export interface ProviderCallOptions {
  /** The provider's model id. */
  model: string;
  /**
   * Aborts the call. The router aborts with a `DOMException` named
   * `TimeoutError` when the attempt timed out; any other reason means the
   * caller went away.
   */
  signal: AbortSignal;
}

/** One provider, bound to one API key and base URL. */
export interface ProviderAdapter {
  /** The provider's name, as in the catalog (`openai`, `anthropic`, `gemini` …). */
  readonly name: string;
  chat(request: LLMChatRequest, options: ProviderCallOptions): Promise<LLMChatResponse>;
  /**
   * Streams the answer: `start` on the first upstream event, deltas, then `finish`.
   * A stream that ends without the provider's end marker throws `LLMError`.
   */
  stream(request: LLMChatRequest, options: ProviderCallOptions): AsyncIterable<LLMStreamEvent>;
  /** Present only when the provider serves embeddings. */
  embed?(request: LLMEmbeddingRequest, options: ProviderCallOptions): Promise<LLMEmbeddingResponse>;
}

/** What an adapter is built from. */
export interface ProviderAdapterInit {
  spec: ProviderSpec;
  apiKey: string;
  baseUrl: string;
  fetch: typeof fetch;
  /** Current time in ms (for retry-after dates). */
  now: () => number;
}

/** Differences between OpenAI-compatible providers that the shared adapter honours. */
export interface OpenAICompatibleQuirks {
  /** Field name for the output cap. */
  maxTokensField: "max_tokens" | "max_completion_tokens";
  /** Whether `stream_options: {include_usage: true}` is accepted. */
  streamUsage: boolean;
  /** Whether `parallel_tool_calls` may be sent. */
  parallelToolCallsParam: boolean;
  /** Whether `POST /embeddings` exists. */
  embeddings: boolean;
}

/** A provider as data: its wire protocol, endpoint and env names. */
export interface ProviderSpec {
  name: string;
  protocol: "openai" | "anthropic";
  /** Base URL the SDK is pointed at (OpenAI-compatible ones include `/v1` or equivalent). */
  defaultBaseUrl: string;
  /** Env var holding the platform key, e.g. `OPENAI_API_KEY`. */
  keyEnv: string;
  /** Env var overriding the base URL, e.g. `OPENAI_BASE_URL`. */
  baseUrlEnv: string;
  /** False for local servers (Ollama, vLLM) that take any key. */
  requiresKey: boolean;
  quirks: OpenAICompatibleQuirks;
}
