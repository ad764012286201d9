/**
 * What a chat dialect is: the shape of one entrance (the native API, OpenAI
 * chat completions, and the Anthropic Messages and OpenAI Responses APIs to
 * come). A dialect validates its body and turns it into the one normalized
 * request, and renders the routed answer back in its own words, as JSON or
 * as server-sent events, errors included. Everything between (access,
 * guards, router, records) is the pipeline's and the same for all.
 */
import type { ModelCatalog } from "../llm/catalog.ts";
import type { LLMError } from "../llm/errors.ts";
import type { RoutedChat, RouteOutcome, RouteRequest } from "../llm/route-types.ts";
import type { LLMStreamEvent } from "../llm/types.ts";
import type { HttpError } from "../http/errors.ts";

/** Which entrance a request came through (reported with it). */
export type ChatApi = "native" | "openai" | "anthropic" | "responses";

/** One chat request in the gateway's terms, whichever dialect it came in. */
export interface NormalizedChat {
  /** Where it should go and what to send; the account and the guards' gate are added later. */
  route: Omit<RouteRequest, "accountId" | "gate">;
  stream: boolean;
  /** The account the body asks to act for (the caller's own when absent). */
  accountId?: string;
  /** The request's own response-cache choice; absent: its use case's setting. */
  cache?: boolean;
  /** More than 1 runs the router's tool loop (never streamed, never cached). */
  maxSteps?: number;
}

/** A routed answer, with the model turns a tool loop took. */
export type ChatAnswer = RoutedChat & { steps?: number };

/** A stream event as dialects render it: `finish` carries the request's cost (computed once, by the router). */
export type ChatStreamEvent =
  | Exclude<LLMStreamEvent, { type: "finish" }>
  | (Extract<LLMStreamEvent, { type: "finish" }> & { costUsd: number });

/** Writes one stream in a dialect: SSE text per event. */
export interface StreamRenderer {
  /** The SSE text of `event` (complete `data:` events; "" for none). */
  event(event: ChatStreamEvent): string;
  /** The SSE text that ends a stream failing after it started. */
  error(error: LLMError): string;
}

/** Renders one request's answer in its dialect. */
export interface ChatRenderer {
  /** The JSON body of a finished answer; `cached`: served by the response cache. */
  json(answer: ChatAnswer, cached: boolean): unknown;
  /** The writer of a stream served by `route`. */
  stream(route: RouteOutcome, cached: boolean): StreamRenderer;
}

/** What a dialect reads a body with. */
export interface DialectContext {
  /** The models a request may name. */
  catalog: ModelCatalog;
  requestId: string;
  /** Epoch ms. */
  now: () => number;
}

/** A body read by its dialect. */
export interface ReadChat {
  chat: NormalizedChat;
  render: ChatRenderer;
}

/** One entrance's way of speaking. */
export interface ChatDialect {
  readonly api: ChatApi;
  /**
   * Validates `body` (its schema, then what needs the catalog: a known
   * model, a tool_choice naming a declared tool) and normalizes it. Throws a
   * 400 `HttpError` naming the field; touches nothing else.
   */
  read(body: unknown, context: DialectContext): ReadChat;
  /** An error response as this dialect's clients parse it. */
  errorResponse(error: HttpError): Response;
}
