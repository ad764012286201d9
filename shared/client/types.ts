/**
 * The client's types. Request and answer types are inferred from the
 * native API's own zod schemas (type-only imports: no zod in the bundle), so
 * a change on the server that breaks callers breaks their type check first.
 */
import type { z } from "zod";
import type {
  NativeAnswer,
  nativeChatBody,
  NativeStreamEvent,
  NativeUsage,
} from "../../supabase/functions/_shared/dialects/native-schema.ts";
import type { LLMRouterError } from "./errors.ts";

/** A native API request as the caller writes it; the client sets `stream`. */
export type RouterRequest = Omit<z.input<typeof nativeChatBody>, "stream">;

/** Token counts of an answer. */
export type Usage = NativeUsage;

/** A tool call the model made, its arguments as the JSON text the model wrote. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The gateway's request bucket, from the `x-ratelimit-*` headers. */
export interface RateLimitInfo {
  limit: number;
  remaining: number;
  /** Until the bucket is full again. */
  resetMs: number;
}

/** How a request was served, from the response headers (and a stream's `start` event). */
export interface RouteInfo {
  provider?: string;
  model?: string;
  /** Which of the model's deployments served it (`x-llm-deployment`); absent: the model has none. */
  deployment?: string;
  /** Provider calls made, retries included. */
  attempts?: number;
  /** 0 when the first target served it; n when the nth fallback did. */
  fallbackIndex?: number;
  /** What chose the target: `override`, `agent`, `account`, `use-case`, `default`, `cache`. */
  source?: string;
  /** `HIT`, `MISS` or `BYPASS`. */
  cache?: string;
  /** Time spent in the gateway itself. */
  overheadMs?: number;
  requestId?: string;
  rateLimit?: RateLimitInfo;
}

/** The native API's JSON answer, with how it was served. */
export type RouterAnswer = NativeAnswer & { route: RouteInfo };

type StreamPart<T extends NativeStreamEvent["type"]> = Omit<
  Extract<NativeStreamEvent, { type: T }>,
  "type"
>;

/** One event of `routerCallStream`. */
export type RouterStreamEvent =
  /** First: the headers' route, completed by the stream's `start` event. */
  | { type: "route"; route: RouteInfo }
  | { type: "text"; text: string }
  | ({ type: "tool-call" } & StreamPart<"tool-call">)
  | ({ type: "finish" } & StreamPart<"finish">)
  /** Last when the call or the stream fails; iteration then ends. */
  | { type: "error"; error: LLMRouterError };

/** What a finished stream amounts to. */
export interface StreamResult {
  text: string;
  toolCalls: ToolCall[];
  usage?: Usage;
  costUsd?: number;
  finishReason?: string;
  route?: RouteInfo;
  /** From the call to its first text or tool-call delta. */
  firstTokenMs?: number;
  totalMs: number;
}

/** A streamed answer: iterate it once, or let `text()`/`final()` consume it. */
export interface RouterStream extends AsyncIterable<RouterStreamEvent> {
  /** The whole text; rejects with the `LLMRouterError` of an error event. */
  text(): Promise<string>;
  /** Text, assembled tool calls, usage, cost and timings; rejects like `text()`. An aborted stream gives what came before. */
  final(): Promise<StreamResult>;
  /** Stops the call; iteration ends without an error event. */
  abort(): void;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
}

/** The part of a supabase-js client the SDK uses: its current session's access token. */
export interface SupabaseAuthLike {
  auth: {
    getSession(): Promise<{ data: { session: { access_token: string } | null } }>;
  };
}

/** Options of `createRouterClient`. */
export interface RouterClientOptions {
  /** The functions base: `${SUPABASE_URL}/functions/v1`. */
  url: string;
  /** The bearer: a user's access token, a gateway key or a service key. Asked before every call. */
  getToken?: () => string | undefined | null | Promise<string | undefined | null>;
  /** A supabase-js client: its session's access token is used (supabase-js refreshes it). */
  supabase?: SupabaseAuthLike;
  /** Deadline of one call, retries and their waits included; a stream's until its first byte. Default 60,000. */
  timeoutMs?: number;
  /** Retries of a retryable failure. Default 2. */
  maxRetries?: number;
  fetch?: typeof fetch;
}

/** One provider in the llm-health report. */
export interface ProviderHealth {
  provider: string;
  healthy: boolean;
  latency: number | null;
  lastCheck: string | null;
  error: string | null;
}

/** `GET /functions/v1/llm-health`. */
export interface HealthReport {
  healthy: boolean;
  providers: ProviderHealth[];
  stats: { total: number; healthy: number; unhealthy: number; healthPercentage: number };
  timestamp: string;
}

/** A model the deployment can serve, as `GET llm-router/v1/models` lists it (`owned_by` is its provider, or `llm-router` for `auto`). */
export interface ModelInfo {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

/** Vectors for `embed`'s inputs, in input order. */
export interface EmbedResult {
  embeddings: number[][];
  model: string;
  usage: { inputTokens: number };
  route: RouteInfo;
}

/** What `invokeLLM` takes: what a direct provider call took, in OpenAI's message and tool shapes. */
export type InvokeLLMParams =
  & Pick<
    RouterRequest,
    | "tools"
    | "toolChoice"
    | "responseFormat"
    | "maxTokens"
    | "temperature"
    | "topP"
    | "useCase"
    | "agentId"
  >
  & {
    messages: NonNullable<RouterRequest["messages"]>;
    /** A catalog model (tried first), `auto`, or `auto:<useCase>`. */
    model?: string;
    signal?: AbortSignal;
  };

/** What `invokeLLM` returns, the same whichever provider served it. */
export interface InvokeLLMResult {
  text: string;
  toolCalls: ToolCall[];
  usage: Usage;
  costUsd: number;
  provider: string;
  model: string;
  finishReason: string;
}

/** The client `createRouterClient` returns. */
export interface RouterClient {
  /** `POST llm-router`: one JSON answer. */
  routerCall(request: RouterRequest, options?: CallOptions): Promise<RouterAnswer>;
  /** `POST llm-router` with `stream: true`: typed events as they arrive. */
  routerCallStream(request: RouterRequest, options?: CallOptions): RouterStream;
  /** The router first; `fallback` when it is unreachable or answers a retryable 5xx, never after a 4xx. */
  callWithFallback<T>(
    request: RouterRequest,
    fallback: (request: RouterRequest, error: LLMRouterError) => Promise<T>,
    options?: CallOptions,
  ): Promise<RouterAnswer | T>;
  /** The llm-health report; `report` is null when none could be read. Never throws for an unhealthy gateway. */
  healthCheck(options?: CallOptions): Promise<{ healthy: boolean; report: HealthReport | null }>;
  /** `GET llm-router/v1/models`. */
  listModels(options?: CallOptions): Promise<ModelInfo[]>;
  /** `POST llm-router/v1/embeddings`; `model` defaults to `auto`. */
  embed(
    input: string | string[],
    options?: CallOptions & { model?: string; dimensions?: number },
  ): Promise<EmbedResult>;
  /** The drop-in for a direct provider call, routed through llm-router. */
  invokeLLM(params: InvokeLLMParams): Promise<InvokeLLMResult>;
  /**
   * Authenticated JSON call to any gateway path (e.g. "llm-router/agents/x/preferences",
   * "llm-metrics"), with the client's auth, timeout, retries and error classes.
   */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options?: CallOptions,
  ): Promise<T>;
}
