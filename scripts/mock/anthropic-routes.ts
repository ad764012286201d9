/**
 * The Anthropic Messages wire protocol: `POST /v1/messages`, JSON and SSE
 * (`message_start`, `content_block_start/delta/stop` with `text_delta` and
 * `input_json_delta`, `ping`, `message_delta` with usage, `message_stop`,
 * `error`), tool use, and prompt-cache token accounting.
 */
import { SseEvent } from "../../supabase/functions/_shared/runtime/sse.ts";
import {
  chooseTools,
  estimateTokens,
  MockTool,
  replyWords,
  sampleFromSchema,
  ToolMode,
  wordPieces,
} from "./content.ts";
import { MockContext } from "./context.ts";
import { playJson, playSse } from "./sse-script.ts";

type Json = Record<string, unknown>;

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** An Anthropic-shaped error response. */
export function anthropicError(
  status: number,
  message: string,
  type?: string,
  headers: Record<string, string> = {},
): Response {
  const errorType = type ?? ERROR_TYPES[status] ??
    (status >= 500 ? "api_error" : "invalid_request_error");
  return Response.json(
    { type: "error", error: { type: errorType, message }, request_id: "req_mock" },
    { status, headers },
  );
}

/** The error body an injected `status=N` fault produces. */
export function anthropicFaultError(
  status: number,
  code: string | undefined,
  retryAfter: string | undefined,
): Response {
  const headers: Record<string, string> = retryAfter ? { "retry-after": retryAfter } : {};
  if (status === 529) return anthropicError(529, "Overloaded", "overloaded_error", headers);
  if (status === 400 && code === "context_length_exceeded") {
    return anthropicError(
      400,
      "prompt is too long: 250000 tokens > 200000 maximum",
      "invalid_request_error",
      headers,
    );
  }
  return anthropicError(status, `Mock error ${status}`, code, headers);
}

interface AnthropicMessage {
  role: string;
  content: unknown;
}

function blocksOf(content: unknown): Json[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? (content as Json[]) : [];
}

function textOf(content: unknown): string {
  return blocksOf(content).filter((b) => b.type === "text").map((b) => String(b.text ?? "")).join(
    " ",
  );
}

/** Handles `POST /v1/messages`. */
export function messages(body: Json, ctx: MockContext): Response {
  if (typeof body.model !== "string" || body.model === "") {
    return anthropicError(400, "model: Field required");
  }
  if (
    typeof body.max_tokens !== "number" || !Number.isInteger(body.max_tokens) || body.max_tokens < 1
  ) {
    return anthropicError(400, "max_tokens: Field required");
  }
  const msgs = body.messages as AnthropicMessage[] | undefined;
  if (!Array.isArray(msgs) || msgs.length === 0) {
    return anthropicError(400, "messages: at least one message is required");
  }
  if (msgs.some((m) => m.role !== "user" && m.role !== "assistant")) {
    return anthropicError(
      400,
      "messages: roles must be 'user' or 'assistant'; put the system prompt in 'system'",
    );
  }
  const model = ctx.record.model!;
  const last = msgs[msgs.length - 1];
  const afterToolResult = last.role === "user" &&
    blocksOf(last.content).some((b) => b.type === "tool_result");
  const lastUser = [...msgs].reverse().find((m) => m.role === "user" && textOf(m.content) !== "");
  const prompt = textOf(lastUser?.content);
  const tools: MockTool[] = Array.isArray(body.tools)
    ? (body.tools as Json[]).map((t) => ({
      name: String(t.name),
      schema: (t.input_schema ?? {}) as Json,
    }))
    : [];
  const choice = (body.tool_choice ?? { type: "auto" }) as Json;
  const calls = chooseTools(
    tools,
    toolMode(choice),
    prompt,
    choice.disable_parallel_tool_use !== true,
    afterToolResult,
  )
    .map((tool) => ({
      id: ctx.nextId("toolu_mock_"),
      name: tool.name,
      input: sampleFromSchema(tool.schema),
    }));

  const limit = body.max_tokens as number;
  const wanted = ctx.plan.words ?? ctx.defaultWords;
  const words = calls.length > 0
    ? ["Calling", ...calls.map((c) => c.name)]
    : replyWords(prompt, Math.min(wanted, limit));
  const stopReason = calls.length > 0 ? "tool_use" : wanted > limit ? "max_tokens" : "end_turn";

  const { cacheTokens, promptTokens } = cacheAccounting(body, ctx);
  const cacheRead = cacheTokens.hit ? cacheTokens.tokens : 0;
  const cacheWrite = cacheTokens.hit ? 0 : cacheTokens.tokens;
  const inputTokens = Math.max(1, promptTokens - cacheTokens.tokens);
  const outputTokens = words.length +
    calls.reduce((n, c) => n + estimateTokens(JSON.stringify(c.input)), 0);
  const id = ctx.nextId("msg_mock_");

  if (body.stream === true) {
    const ev = (type: string, data: Json): SseEvent => ({
      event: type,
      data: JSON.stringify({ type, ...data }),
    });
    const events: SseEvent[] = [
      ev("message_start", {
        message: {
          id,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: inputTokens,
            cache_creation_input_tokens: cacheWrite,
            cache_read_input_tokens: cacheRead,
            output_tokens: 1,
          },
        },
      }),
      ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      ev("ping", {}),
    ];
    for (const piece of wordPieces(words)) {
      events.push(
        ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: piece } }),
      );
    }
    events.push(ev("content_block_stop", { index: 0 }));
    calls.forEach((call, i) => {
      const index = i + 1;
      events.push(
        ev("content_block_start", {
          index,
          content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
        }),
      );
      const json = JSON.stringify(call.input);
      const step = Math.max(1, Math.ceil(json.length / 3));
      for (let at = 0; at < json.length; at += step) {
        events.push(
          ev("content_block_delta", {
            index,
            delta: { type: "input_json_delta", partial_json: json.slice(at, at + step) },
          }),
        );
      }
      events.push(ev("content_block_stop", { index }));
    });
    events.push(
      ev("message_delta", {
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: outputTokens },
      }),
    );
    events.push(ev("message_stop", {}));
    return new Response(
      playSse({
        events,
        errorEvent: ev("error", { error: { type: "overloaded_error", message: "Overloaded" } }),
        onProgress: (n) => (ctx.record.eventsSent = n),
        onEnd: (outcome) => (ctx.record.outcome = outcome),
      }, ctx.plan),
      {
        headers: { "content-type": "text/event-stream; charset=utf-8", "request-id": `req_${id}` },
      },
    );
  }

  const content: Json[] = [{ type: "text", text: words.join(" ") }];
  for (const call of calls) {
    content.push({ type: "tool_use", id: call.id, name: call.name, input: call.input });
  }
  const json = JSON.stringify({
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: {
      input_tokens: inputTokens,
      cache_creation_input_tokens: cacheWrite,
      cache_read_input_tokens: cacheRead,
      output_tokens: outputTokens,
    },
  });
  return new Response(playJson(json, ctx.plan, (outcome) => (ctx.record.outcome = outcome)), {
    headers: { "content-type": "application/json", "request-id": `req_${id}` },
  });
}

function toolMode(choice: Json): ToolMode {
  switch (choice.type) {
    case "none":
      return { kind: "none" };
    case "any":
      return { kind: "required" };
    case "tool":
      return { kind: "named", name: String(choice.name) };
    default:
      return { kind: "auto" };
  }
}

/**
 * Prompt caching as Anthropic reports it: the prefix up to the last block
 * marked `cache_control` (tools, then system, then messages) is written on
 * first sight and read on every later request with the same prefix.
 */
function cacheAccounting(
  body: Json,
  ctx: MockContext,
): { cacheTokens: { tokens: number; hit: boolean }; promptTokens: number } {
  const segments: Json[] = [
    ...(Array.isArray(body.tools) ? (body.tools as Json[]) : []),
    ...blocksOf(body.system),
    ...(body.messages as AnthropicMessage[]).flatMap((m) => blocksOf(m.content)),
  ];
  const promptTokens = estimateTokens(JSON.stringify(segments));
  let lastMarked = -1;
  segments.forEach((segment, index) => {
    if (segment.cache_control) lastMarked = index;
  });
  if (lastMarked === -1) return { cacheTokens: { tokens: 0, hit: false }, promptTokens };
  const prefix = JSON.stringify(segments.slice(0, lastMarked + 1));
  const key = `anthropic:${ctx.record.model}:${prefix}`;
  const hit = ctx.seenPrefixes.has(key);
  ctx.seenPrefixes.add(key);
  return {
    cacheTokens: { tokens: Math.min(promptTokens, estimateTokens(prefix)), hit },
    promptTokens,
  };
}
