/**
 * The Anthropic Messages dialect on its own: a body read into the gateway's
 * normalized request (system blocks, tool results ahead of a turn's text,
 * thinking kept with its signature, cache markers, passthrough), bad bodies
 * refused with the field named, answers rendered with Anthropic's block
 * order and usage, and streams numbered block by block when thinking, text
 * and several tool calls interleave.
 */
import assert from "node:assert/strict";
import { anthropicMessages } from "../supabase/functions/_shared/dialects/anthropic-messages.ts";
import type {
  ChatAnswer,
  ChatStreamEvent,
} from "../supabase/functions/_shared/dialects/chat-dialect.ts";
import { HttpError } from "../supabase/functions/_shared/http/errors.ts";
import { ModelCatalog } from "../supabase/functions/_shared/llm/catalog.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { RouteOutcome } from "../supabase/functions/_shared/llm/route-types.ts";
import { SseDecoder } from "../supabase/functions/_shared/runtime/sse.ts";

const context = { catalog: new ModelCatalog(), requestId: "req-1", now: () => 0 };
const read = (body: Record<string, unknown>) =>
  anthropicMessages.read({ model: "claude-haiku-4-5", max_tokens: 100, ...body }, context);

/** The 400's field for `body`. */
function refusedField(body: Record<string, unknown>): string {
  try {
    read(body);
  } catch (error) {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 400);
    return String(error.details.field);
  }
  assert.fail("the body was accepted");
}

Deno.test("messages dialect: a conversation reads into the gateway's messages, tool results first, thinking kept whole", () => {
  const { chat } = read({
    system: [
      { type: "text", text: "Rules.", cache_control: { type: "ephemeral", ttl: "1h" } },
      { type: "text", text: "More rules." },
    ],
    messages: [
      { role: "user", content: "Weather?" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "They want weather.", signature: "sig-1" },
          { type: "redacted_thinking", data: "opaque" },
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "text", text: "Quickly.", cache_control: { type: "ephemeral" } },
          {
            type: "tool_result",
            tool_use_id: "toolu_1",
            content: [
              { type: "text", text: "rain" },
              { type: "image", source: { type: "url", url: "https://example.com/map.png" } },
            ],
          },
        ],
      },
    ],
  });
  assert.deepEqual(chat.route.chat.messages, [
    { role: "system", content: "Rules.", cacheControl: { type: "ephemeral", ttl: "1h" } },
    { role: "system", content: "More rules." },
    { role: "user", content: "Weather?" },
    {
      role: "assistant",
      content: "Checking.",
      toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: '{"city":"Oslo"}' }],
      reasoning: [
        { type: "thinking", text: "They want weather.", signature: "sig-1" },
        { type: "redacted_thinking", data: "opaque" },
      ],
    },
    { role: "tool", toolCallId: "toolu_1", content: "rain" },
    {
      role: "user",
      content: [
        { type: "text", text: "Quickly.", cacheControl: { type: "ephemeral" } },
        { type: "image", url: "https://example.com/map.png" },
      ],
    },
  ]);
});

Deno.test("messages dialect: tools, tool_choice, thinking, output_config and cache_control map, and pass through for Claude", () => {
  const thinking = { type: "enabled", budget_tokens: 2048 };
  const outputConfig = {
    effort: "high",
    format: { type: "json_schema", schema: { type: "object", properties: {} } },
  };
  const { chat } = read({
    messages: [{ role: "user", content: "x" }],
    tools: [{
      name: "get_weather",
      input_schema: { type: "object" },
      cache_control: { type: "ephemeral" },
    }],
    tool_choice: { type: "any", disable_parallel_tool_use: true },
    thinking,
    output_config: outputConfig,
    cache_control: { type: "ephemeral" },
    stop_sequences: ["END"],
    metadata: { user_id: "u-1" },
    stream: true,
  });
  const request = chat.route.chat;
  assert.deepEqual(request.tools, [{
    name: "get_weather",
    parameters: { type: "object" },
    cacheControl: { type: "ephemeral" },
  }]);
  assert.equal(request.toolChoice, "required");
  assert.equal(request.parallelToolCalls, false);
  assert.deepEqual(request.reasoning, { budgetTokens: 2048, effort: "high" });
  assert.deepEqual(request.responseFormat, {
    type: "json_schema",
    name: "output",
    schema: outputConfig.format.schema,
  });
  assert.deepEqual(request.cacheControl, { type: "ephemeral" });
  assert.deepEqual(request.passthrough, {
    anthropic: { thinking, output_config: outputConfig },
  });
  assert.deepEqual(request.stop, ["END"]);
  assert.equal(request.user, "u-1");
  assert.equal(request.maxTokens, 100);
  assert.equal(chat.route.modelOverride, "claude-haiku-4-5");
  assert.equal(chat.stream, true);
});

Deno.test("messages dialect: model auto:<useCase> routes by use case; base64 images become data URLs", () => {
  const { chat } = read({
    model: "auto:complex",
    messages: [{
      role: "user",
      content: [{
        type: "image",
        source: { type: "base64", media_type: "image/png", data: "AAAA" },
      }],
    }],
  });
  assert.equal(chat.route.useCase, "complex");
  assert.equal(chat.route.modelOverride, undefined);
  assert.deepEqual(chat.route.chat.messages, [{
    role: "user",
    content: [{ type: "image", url: "data:image/png;base64,AAAA" }],
  }]);
});

Deno.test("messages dialect: bad bodies are 400s that name the field", () => {
  const user = (content: unknown) => ({ messages: [{ role: "user", content }] });
  assert.equal(refusedField({ model: "gpt-99", ...user("x") }), "model");
  assert.equal(refusedField({ model: "auto:nothing", ...user("x") }), "model");
  assert.equal(refusedField({ max_tokens: 0, ...user("x") }), "max_tokens");
  assert.equal(refusedField({ messages: [] }), "messages");
  assert.equal(
    refusedField(user([{ type: "document", source: { type: "text", data: "x" } }])),
    "messages[0].content[0].type",
  );
  assert.equal(
    refusedField(user([{ type: "tool_result", tool_use_id: "toolu_unknown", content: "x" }])),
    "messages[0].content[0].tool_use_id",
  );
  assert.equal(
    refusedField({ ...user("x"), tools: [{ type: "web_search_20250305", name: "web_search" }] }),
    "tools[0].type",
  );
  assert.equal(
    refusedField({
      ...user("x"),
      tools: [{ name: "a", input_schema: {} }],
      tool_choice: { type: "tool", name: "b" },
    }),
    "tool_choice",
  );
  assert.equal(refusedField({ ...user("x"), tool_choice: { type: "any" } }), "tool_choice");
  assert.equal(
    refusedField(user([{ type: "image", source: { type: "url", url: "http://x" } }])),
    "messages[0].content[0].source.url",
  );
  assert.equal(refusedField({ ...user("x"), thinking: { type: "sometimes" } }), "thinking.type");
});

const answer: ChatAnswer = {
  text: "Here.",
  toolCalls: [
    { id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
    { id: "call_2", name: "get_time", arguments: "{not json" },
  ],
  reasoning: [{ type: "thinking", text: "Hm.", signature: "sig" }],
  finishReason: "tool_calls",
  usage: {
    inputTokens: 100,
    outputTokens: 30,
    cachedInputTokens: 60,
    cacheWriteTokens: 10,
    reasoningTokens: 12,
  },
  provider: "openai",
  model: "gpt-4o-mini",
  costUsd: 0.001,
  route: {} as RouteOutcome,
};

Deno.test("messages dialect: an answer renders thinking, text, then tool_use; usage in Anthropic's terms", () => {
  const { render } = read({ messages: [{ role: "user", content: "x" }] });
  // deno-lint-ignore no-explicit-any
  const message = render.json(answer, false) as any;
  assert.equal(message.id, "msg_req1");
  assert.equal(message.model, "gpt-4o-mini");
  assert.deepEqual(message.content.map((b: { type: string }) => b.type), [
    "thinking",
    "text",
    "tool_use",
    "tool_use",
  ]);
  assert.deepEqual(message.content[0], { type: "thinking", thinking: "Hm.", signature: "sig" });
  assert.deepEqual(message.content[2].input, { city: "Oslo" });
  assert.deepEqual(message.content[3].input, { _raw: "{not json" }, "garbled arguments kept");
  assert.equal(message.stop_reason, "tool_use");
  assert.equal(message.usage.input_tokens, 30, "input_tokens excludes cache reads and writes");
  assert.equal(message.usage.cache_read_input_tokens, 60);
  assert.equal(message.usage.cache_creation_input_tokens, 10);
  assert.equal(message.usage.output_tokens, 30);
  assert.deepEqual(message.usage.output_tokens_details, { thinking_tokens: 12 });
});

/** The SSE events a writer produced, parsed. */
function eventsOf(text: string): { event: string; data: Record<string, unknown> }[] {
  return new SseDecoder().push(text).map((e) => ({ event: e.event!, data: JSON.parse(e.data) }));
}

Deno.test("messages dialect: a stream numbers blocks in order as thinking, text and several tool calls interleave", () => {
  const { render } = read({ messages: [{ role: "user", content: "x" }], stream: true });
  const writer = render.stream({ model: "gpt-4o-mini" } as RouteOutcome, false);
  const events: ChatStreamEvent[] = [
    { type: "start", provider: "openai", model: "gpt-4o-mini" },
    { type: "reasoning-delta", text: "Let me " },
    { type: "reasoning-delta", text: "think." },
    { type: "reasoning-signature", signature: "sig-a" },
    { type: "reasoning-redacted", data: "opaque" },
    { type: "text-delta", text: "Calling " },
    { type: "text-delta", text: "tools." },
    { type: "tool-call-delta", index: 0, id: "call_a", name: "get_weather", argumentsDelta: "" },
    { type: "tool-call-delta", index: 0, argumentsDelta: '{"city":' },
    { type: "tool-call-delta", index: 0, argumentsDelta: '"Oslo"}' },
    { type: "tool-call-delta", index: 1, id: "call_b", name: "get_time", argumentsDelta: "{}" },
    {
      type: "finish",
      finishReason: "tool_calls",
      usage: { inputTokens: 50, outputTokens: 9, cachedInputTokens: 20, cacheWriteTokens: 0 },
      costUsd: 0.5,
    },
  ];
  const out = eventsOf(events.map((e) => writer.event(e)).join(""));
  const summary = out.map(({ event, data }) => {
    const delta = data.delta as Record<string, unknown> | undefined;
    const block = data.content_block as Record<string, unknown> | undefined;
    return [
      event,
      data.index ?? "",
      block?.type ?? (event === "content_block_delta" ? delta?.type : "") ?? "",
    ].join(" ").trim();
  });
  assert.deepEqual(summary, [
    "message_start",
    "ping",
    "content_block_start 0 thinking",
    "content_block_delta 0 thinking_delta",
    "content_block_delta 0 thinking_delta",
    "content_block_delta 0 signature_delta",
    "content_block_stop 0",
    "content_block_start 1 redacted_thinking",
    "content_block_stop 1",
    "content_block_start 2 text",
    "content_block_delta 2 text_delta",
    "content_block_delta 2 text_delta",
    "content_block_stop 2",
    "content_block_start 3 tool_use",
    "content_block_delta 3 input_json_delta",
    "content_block_delta 3 input_json_delta",
    "content_block_stop 3",
    "content_block_start 4 tool_use",
    "content_block_delta 4 input_json_delta",
    "content_block_stop 4",
    "message_delta",
    "message_stop",
  ]);
  assert.deepEqual(out[5].data.delta, { type: "signature_delta", signature: "sig-a" });
  assert.deepEqual(out[13].data.content_block, {
    type: "tool_use",
    id: "call_a",
    name: "get_weather",
    input: {},
    caller: { type: "direct" },
  });
  const end = out.at(-2)!.data;
  assert.equal((end.delta as { stop_reason: string }).stop_reason, "tool_use");
  assert.deepEqual(
    [
      (end.usage as Record<string, number>).input_tokens,
      (end.usage as Record<string, number>).cache_read_input_tokens,
      (end.usage as Record<string, number>).output_tokens,
    ],
    [30, 20, 9],
  );
});

Deno.test("messages dialect: arguments of an interleaved call go to that call's own block", () => {
  const { render } = read({ messages: [{ role: "user", content: "x" }], stream: true });
  const writer = render.stream({ model: "m" } as RouteOutcome, false);
  const text = [
    writer.event({ type: "start", provider: "p", model: "m" }),
    writer.event({
      type: "tool-call-delta",
      index: 0,
      id: "a",
      name: "f",
      argumentsDelta: '{"x":',
    }),
    writer.event({ type: "tool-call-delta", index: 1, id: "b", name: "g", argumentsDelta: "{}" }),
    writer.event({ type: "tool-call-delta", index: 0, argumentsDelta: "1}" }),
  ].join("");
  const deltas = eventsOf(text).filter((e) => e.event === "content_block_delta")
    .map((e) => [e.data.index, (e.data.delta as { partial_json: string }).partial_json]);
  assert.deepEqual(deltas, [[0, '{"x":'], [1, "{}"], [0, "1}"]]);
});

Deno.test("messages dialect: a thinking block whose text was omitted still carries its signature", () => {
  const { render } = read({ messages: [{ role: "user", content: "x" }], stream: true });
  const writer = render.stream({ model: "m" } as RouteOutcome, false);
  writer.event({ type: "start", provider: "p", model: "m" });
  const out = eventsOf(writer.event({ type: "reasoning-signature", signature: "sig" }));
  assert.deepEqual(out.map((e) => e.event), [
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
  ]);
  assert.deepEqual(out[0].data.content_block, { type: "thinking", thinking: "", signature: "" });
});

Deno.test("messages dialect: errors take Anthropic's shape with the gateway's code", async () => {
  const response = anthropicMessages.errorResponse(
    new HttpError(429, "RATE_LIMIT_EXCEEDED", "Slow down", { retryAfterMs: 1000 }, {
      "retry-after": "1",
    }),
  );
  assert.equal(response.status, 429);
  assert.equal(response.headers.get("retry-after"), "1");
  assert.deepEqual(await response.json(), {
    type: "error",
    error: {
      type: "rate_limit_error",
      message: "Slow down",
      details: { error_code: "RATE_LIMIT_EXCEEDED", retryAfterMs: 1000 },
    },
  });
  const { render } = read({ messages: [{ role: "user", content: "x" }], stream: true });
  const writer = render.stream({ model: "m" } as RouteOutcome, false);
  const [event] = eventsOf(
    writer.error(new LLMError("PROVIDER_ERROR", "upstream broke", { retryable: true })),
  );
  assert.equal(event.event, "error");
  assert.deepEqual(event.data, {
    type: "error",
    error: {
      type: "api_error",
      message: "upstream broke",
      details: { error_code: "PROVIDER_ERROR", retryable: true },
    },
  });
});
