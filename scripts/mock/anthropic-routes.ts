/**
 * The Anthropic Messages wire protocol: `POST /v1/messages`, JSON and SSE
 * (`message_start`, `content_block_start/delta/stop` with `thinking_delta`,
 * `signature_delta`, `text_delta` and `input_json_delta`, `ping`,
 * `message_delta` with usage, `message_stop`, `error`), tool use, extended
 * thinking (signed thinking blocks, checked when sent back; a redacted block
 * for Anthropic's magic test string), structured output
 * (`output_config.format`), and prompt-cache token accounting.
 */
import { SseEvent } from "../../supabase/functions/_shared/runtime/sse.ts";
import {
  chooseTools,
  estimateTokens,
  MockTool,
  replyWords,
  sampleFromSchema,
  signThinking,
  thinkingText,
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
  const invalid = invalidThinking(body) ?? invalidOutputConfig(body) ?? unsignedThinking(msgs);
  if (invalid) return anthropicError(400, invalid);
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

  const thinking = thinkingBlocks(body, prompt);
  const thinkingTokens = thinking.reduce(
    (n, b) => n + estimateTokens(String(b.thinking ?? b.data)),
    0,
  );
  const limit = (body.max_tokens as number) - thinkingTokens;
  const wanted = ctx.plan.words ?? ctx.defaultWords;
  const format = (body.output_config as Json | undefined)?.format as Json | undefined;
  const words = calls.length > 0
    ? ["Calling", ...calls.map((c) => c.name)]
    : format
    ? [JSON.stringify(sampleFromSchema(format.schema))]
    : replyWords(prompt, Math.min(wanted, limit));
  const stopReason = calls.length > 0
    ? "tool_use"
    : !format && wanted > limit
    ? "max_tokens"
    : "end_turn";

  const { cacheTokens, promptTokens } = cacheAccounting(body, ctx);
  const cacheRead = cacheTokens.hit ? cacheTokens.tokens : 0;
  const cacheWrite = cacheTokens.hit ? 0 : cacheTokens.tokens;
  const inputTokens = Math.max(1, promptTokens - cacheTokens.tokens);
  const outputTokens = words.length + thinkingTokens +
    calls.reduce((n, c) => n + estimateTokens(JSON.stringify(c.input)), 0);
  // Reported only when the model thought, as Anthropic does.
  const outputDetails = thinking.length > 0
    ? { output_tokens_details: { thinking_tokens: thinkingTokens } }
    : {};
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
    ];
    thinking.forEach((block, index) => {
      if (block.type === "redacted_thinking") {
        events.push(ev("content_block_start", { index, content_block: block }));
      } else {
        events.push(
          ev("content_block_start", {
            index,
            content_block: { type: "thinking", thinking: "", signature: "" },
          }),
        );
        for (const piece of wordPieces(String(block.thinking).split(" "))) {
          events.push(
            ev("content_block_delta", {
              index,
              delta: { type: "thinking_delta", thinking: piece },
            }),
          );
        }
        events.push(
          ev("content_block_delta", {
            index,
            delta: { type: "signature_delta", signature: block.signature },
          }),
        );
      }
      events.push(ev("content_block_stop", { index }));
    });
    const textIndex = thinking.length;
    events.push(
      ev("content_block_start", { index: textIndex, content_block: { type: "text", text: "" } }),
    );
    for (const piece of wordPieces(words)) {
      events.push(
        ev("content_block_delta", {
          index: textIndex,
          delta: { type: "text_delta", text: piece },
        }),
      );
    }
    events.push(ev("content_block_stop", { index: textIndex }));
    // Anthropic pings once the first block has started.
    events.splice(2, 0, ev("ping", {}));
    calls.forEach((call, i) => {
      const index = textIndex + i + 1;
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
        usage: { output_tokens: outputTokens, ...outputDetails },
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

  const content: Json[] = [...thinking, { type: "text", text: words.join(" ") }];
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
      ...outputDetails,
    },
  });
  return new Response(playJson(json, ctx.plan, (outcome) => (ctx.record.outcome = outcome)), {
    headers: { "content-type": "application/json", "request-id": `req_${id}` },
  });
}

/** Anthropic's test string that makes the model answer with a redacted thinking block. */
export const REDACTED_THINKING_TRIGGER = "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING";

/**
 * The thinking blocks of an answer when the request enables thinking: one
 * signed block (empty text with `display: "omitted"`), preceded by a redacted
 * block when the prompt carries Anthropic's magic test string.
 */
function thinkingBlocks(body: Json, prompt: string): Json[] {
  const config = body.thinking as Json | undefined;
  if (config?.type !== "enabled" && config?.type !== "adaptive") return [];
  const text = config.display === "omitted" ? "" : thinkingText(prompt);
  const blocks: Json[] = [];
  if (prompt.includes(REDACTED_THINKING_TRIGGER)) {
    blocks.push({ type: "redacted_thinking", data: `redacted-${signThinking(prompt)}` });
  }
  blocks.push({ type: "thinking", thinking: text, signature: signThinking(text) });
  return blocks;
}

/** Anthropic's checks of `thinking`: a budget of at least 1,024 below max_tokens, no forced tool. */
function invalidThinking(body: Json): string | undefined {
  const config = body.thinking as Json | undefined;
  if (config === undefined || config.type === "disabled" || config.type === "adaptive") {
    return undefined;
  }
  if (config.type !== "enabled") return `thinking.type: unknown type ${String(config.type)}`;
  const budget = config.budget_tokens;
  if (typeof budget !== "number" || budget < 1024) {
    return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
  }
  if (budget >= (body.max_tokens as number)) {
    return "`max_tokens` must be greater than `thinking.budget_tokens`";
  }
  const choice = (body.tool_choice as Json | undefined)?.type;
  if (choice === "any" || choice === "tool") {
    return "Thinking may not be enabled when tool_choice forces tool use.";
  }
  return undefined;
}

const EFFORTS = ["low", "medium", "high", "xhigh", "max"];

/** Anthropic's checks of `output_config`: a known effort, a JSON schema format. */
function invalidOutputConfig(body: Json): string | undefined {
  const config = body.output_config as Json | undefined;
  if (config === undefined) return undefined;
  if (config.effort != null && !EFFORTS.includes(String(config.effort))) {
    return `output_config.effort: Input should be ${EFFORTS.map((e) => `'${e}'`).join(", ")}`;
  }
  const format = config.format as Json | undefined | null;
  if (format != null) {
    if (format.type !== "json_schema") {
      return "output_config.format.type: Input should be 'json_schema'";
    }
    if (typeof format.schema !== "object" || format.schema === null) {
      return "output_config.format.schema: Field required";
    }
  }
  return undefined;
}

/** The first thinking block sent back with a signature that is not its own, as Anthropic's 400 names it. */
function unsignedThinking(msgs: AnthropicMessage[]): string | undefined {
  for (const [m, message] of msgs.entries()) {
    if (message.role !== "assistant") continue;
    for (const [b, block] of blocksOf(message.content).entries()) {
      if (block.type === "thinking" && block.signature !== signThinking(String(block.thinking))) {
        return `messages.${m}.content.${b}: Invalid \`signature\` in \`thinking\` block`;
      }
    }
  }
  return undefined;
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
 * marked `cache_control` (tools, then system, then messages; a top-level
 * `cache_control` marks the last block) is written on first sight and read
 * on every later request with the same prefix.
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
  // A top-level `cache_control` marks the last block.
  let lastMarked = body.cache_control ? segments.length - 1 : -1;
  segments.forEach((segment, index) => {
    if (segment.cache_control) lastMarked = Math.max(lastMarked, index);
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
