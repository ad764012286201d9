/**
 * The Responses dialect on its own: how a body reads into the normalized
 * request (items joined into turns, stateless fields refused by name), and how
 * an answer renders, as JSON and as the event sequence the official openai SDK
 * accumulates (served from loopback to `client.responses.stream`).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { HttpError } from "../supabase/functions/_shared/http/errors.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import { ModelCatalog } from "../supabase/functions/_shared/llm/catalog.ts";
import type { RouteOutcome } from "../supabase/functions/_shared/llm/route-types.ts";
import type {
  ChatAnswer,
  ChatStreamEvent,
  ReadChat,
} from "../supabase/functions/_shared/dialects/chat-dialect.ts";
import { openAIResponses } from "../supabase/functions/_shared/dialects/openai-responses.ts";
import { SseDecoder } from "../supabase/functions/_shared/runtime/sse.ts";
import { serveOnLoopback } from "./helpers/direct-world.ts";

const catalog = new ModelCatalog();
const NOW = Date.UTC(2026, 0, 2);

function read(body: Record<string, unknown>): ReadChat {
  return openAIResponses.read(body, { catalog, requestId: "req-1234", now: () => NOW });
}

function refusal(body: Record<string, unknown>): HttpError {
  try {
    read(body);
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    return error;
  }
  assert.fail("the body was accepted");
}

const weather = {
  type: "function",
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } } },
  strict: true,
};

Deno.test("responses dialect: text input, instructions and the request's controls normalize", () => {
  const { chat } = read({
    model: "gpt-4o-mini",
    instructions: "Be brief.",
    input: "Hello",
    max_output_tokens: 64,
    temperature: 0.2,
    top_p: 0.9,
    parallel_tool_calls: false,
    reasoning: { effort: "low", summary: "auto" },
    text: {
      format: { type: "json_schema", name: "reply", schema: { type: "object" }, strict: true },
    },
    tools: [weather],
    tool_choice: { type: "function", name: "get_weather" },
    metadata: { trace: "t-1" },
    store: false,
    stream: true,
    user: "user-7",
  });
  assert.equal(chat.stream, true);
  assert.equal(chat.route.modelOverride, "gpt-4o-mini");
  assert.deepEqual(chat.route.chat, {
    messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
    maxTokens: 64,
    temperature: 0.2,
    topP: 0.9,
    parallelToolCalls: false,
    responseFormat: {
      type: "json_schema",
      name: "reply",
      schema: { type: "object" },
      strict: true,
    },
    reasoning: { effort: "low" },
    user: "user-7",
    tools: [{
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    }],
    toolChoice: { name: "get_weather" },
  });
});

Deno.test("responses dialect: auto and auto:<useCase> route like chat completions", () => {
  assert.equal(read({ model: "auto", input: "x" }).chat.route.modelOverride, undefined);
  const summary = read({ model: "auto:summary", input: "x" }).chat.route;
  assert.equal(summary.useCase, "summary");
  assert.equal(summary.modelOverride, undefined);
});

Deno.test("responses dialect: items of one assistant turn join one message; outputs answer their calls", () => {
  const { chat } = read({
    model: "claude-haiku-4-5",
    input: [
      { role: "developer", content: "Answer in French." },
      {
        role: "user",
        content: [
          { type: "input_text", text: "What is in" },
          {
            type: "input_image",
            image_url: "data:image/png;base64,iVBORw0KGgo=",
            detail: "original",
          },
        ],
      },
      {
        type: "reasoning",
        id: "rs_1",
        summary: [{ type: "summary_text", text: "Look." }],
        encrypted_content: "sig-1",
      },
      { type: "reasoning", id: "rs_2", summary: [], encrypted_content: "opaque" },
      {
        type: "message",
        id: "msg_1",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: "Checking.", annotations: [] }],
      },
      {
        type: "function_call",
        call_id: "call_a",
        name: "get_weather",
        arguments: '{"city":"Oslo"}',
      },
      {
        type: "function_call",
        call_id: "call_b",
        name: "get_weather",
        arguments: '{"city":"Rome"}',
      },
      { type: "function_call_output", call_id: "call_a", output: "12C" },
      {
        type: "function_call_output",
        call_id: "call_b",
        output: [{ type: "input_text", text: "20C" }],
      },
    ],
  });
  assert.deepEqual(chat.route.chat.messages, [
    { role: "system", content: "Answer in French." },
    {
      role: "user",
      content: [
        { type: "text", text: "What is in" },
        { type: "image", url: "data:image/png;base64,iVBORw0KGgo=", detail: "high" },
      ],
    },
    {
      role: "assistant",
      content: "Checking.",
      reasoning: [
        { type: "thinking", text: "Look.", signature: "sig-1" },
        { type: "redacted_thinking", data: "opaque" },
      ],
      toolCalls: [
        { id: "call_a", name: "get_weather", arguments: '{"city":"Oslo"}' },
        { id: "call_b", name: "get_weather", arguments: '{"city":"Rome"}' },
      ],
    },
    { role: "tool", toolCallId: "call_a", content: "12C" },
    { role: "tool", toolCallId: "call_b", content: "20C" },
  ]);
});

Deno.test("responses dialect: what needs stored state is a 400 naming the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ previous_response_id: "resp_1" }, "previous_response_id"],
    [{ conversation: "conv_1" }, "conversation"],
    [{ conversation: { id: "conv_1" } }, "conversation"],
    [{ store: true }, "store"],
    [{ background: true }, "background"],
    [{ prompt: { id: "pmpt_1" } }, "prompt"],
    [
      { input: [{ role: "user", content: "x" }, { type: "item_reference", id: "msg_1" }] },
      "input[1]",
    ],
  ];
  for (const [extra, field] of cases) {
    const error = refusal({ model: "gpt-4o-mini", input: "x", ...extra });
    assert.equal(error.status, 400);
    assert.equal(error.code, "VALIDATION_ERROR");
    assert.equal(error.details.field, field, JSON.stringify(extra));
    assert.match(error.message, /keeps no responses|stored/, error.message);
  }
  // Saying no to storage, or nothing, is fine.
  for (const store of [false, null, undefined]) read({ model: "gpt-4o-mini", input: "x", store });
});

Deno.test("responses dialect: what the gateway cannot serve is a 400 naming the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ model: "gpt-99" }, "model"],
    [{ model: "auto:nonsense" }, "model"],
    [{ tools: [{ type: "web_search" }] }, "tools[0].type"],
    [{ tools: [weather], tool_choice: { type: "function", name: "get_time" } }, "tool_choice"],
    [{ tool_choice: "required" }, "tool_choice"],
    [{ text: { format: { type: "json_schema", schema: {} } } }, "text.format.name"],
    [
      { input: [{ type: "function_call_output", call_id: "call_x", output: "1" }] },
      "input[0].call_id",
    ],
    [{ input: [{ type: "web_search_call", id: "ws_1" }] }, "input[0].type"],
    [{
      input: [{
        role: "user",
        content: [{ type: "input_image", file_id: "file_1", detail: "auto" }],
      }],
    }, "input[0].content[0].image_url"],
    [{
      input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }],
    }, "input[0].content[0].type"],
    [{
      input: [{
        role: "system",
        content: [{ type: "input_image", image_url: "https://x.test/a.png", detail: "auto" }],
      }],
    }, "input[0].content[0]"],
    [{ input: [] }, "input"],
    [{ max_output_tokens: 0 }, "max_output_tokens"],
  ];
  for (const [extra, field] of cases) {
    const error = refusal({ model: "gpt-4o-mini", input: "x", ...extra });
    assert.equal(error.status, 400, JSON.stringify(extra));
    assert.equal(error.details.field, field, `${JSON.stringify(extra)}: ${error.message}`);
  }
});

const route: RouteOutcome = {
  provider: "anthropic",
  model: "claude-haiku-4-5",
  attempts: 1,
  fallbackIndex: 0,
  source: "override",
  useCase: "general",
  trimmedMessages: 0,
  upstreamMs: 0,
  waitedMs: 0,
};

const usage = {
  inputTokens: 40,
  outputTokens: 30,
  cachedInputTokens: 8,
  cacheWriteTokens: 4,
  reasoningTokens: 12,
};

/** A turn that thinks, is redacted once, says something, and calls two tools with interleaved deltas. */
const busyTurn: ChatStreamEvent[] = [
  { type: "start", provider: "anthropic", model: "claude-haiku-4-5" },
  { type: "reasoning-delta", text: "Two cities, " },
  { type: "reasoning-delta", text: "two calls." },
  { type: "reasoning-signature", signature: "sig-abc" },
  { type: "reasoning-redacted", data: "opaque-data" },
  { type: "text-delta", text: "Checking " },
  { type: "text-delta", text: "both." },
  { type: "tool-call-delta", index: 0, id: "toolu_a", name: "get_weather", argumentsDelta: '{"ci' },
  { type: "tool-call-delta", index: 1, id: "toolu_b", name: "get_weather", argumentsDelta: "" },
  { type: "tool-call-delta", index: 0, argumentsDelta: 'ty":"Oslo"}' },
  { type: "tool-call-delta", index: 1, argumentsDelta: '{"city":"Rome"}' },
  { type: "finish", finishReason: "tool_calls", usage, costUsd: 0.001 },
];

const busyAnswer: ChatAnswer = {
  text: "Checking both.",
  toolCalls: [
    { id: "toolu_a", name: "get_weather", arguments: '{"city":"Oslo"}' },
    { id: "toolu_b", name: "get_weather", arguments: '{"city":"Rome"}' },
  ],
  reasoning: [
    { type: "thinking", text: "Two cities, two calls.", signature: "sig-abc" },
    { type: "redacted_thinking", data: "opaque-data" },
  ],
  finishReason: "tool_calls",
  usage,
  provider: "anthropic",
  model: "claude-haiku-4-5",
  costUsd: 0.001,
  route,
};

/** The SSE text a stream renderer writes for `events` (an `error` after them when given). */
function rendered(events: ChatStreamEvent[], error?: LLMError): string {
  const writer = read({ model: "claude-haiku-4-5", input: "x", stream: true }).render.stream(
    route,
    false,
  );
  return events.map((event) => writer.event(event)).join("") + (error ? writer.error(error) : "");
}

// deno-lint-ignore no-explicit-any
function parsed(sse: string): { event?: string; data: any }[] {
  const decoder = new SseDecoder();
  return [...decoder.push(sse), ...decoder.flush()].map((e) => ({
    event: e.event,
    data: JSON.parse(e.data),
  }));
}

/** Serves `sse` as a Responses stream on loopback and reads it with the official SDK. */
async function throughSdk(sse: string) {
  const server = serveOnLoopback(() =>
    Promise.resolve(new Response(sse, { headers: { "content-type": "text/event-stream" } }))
  );
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: server.url, maxRetries: 0 });
    const stream = client.responses.stream({ model: "claude-haiku-4-5", input: "x" });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    return { types, response: await stream.finalResponse() };
  } finally {
    await server.close();
  }
}

Deno.test("responses stream: every event is named by its type and numbered from 0 without a gap", () => {
  const events = parsed(rendered(busyTurn));
  assert.deepEqual(events.map((e) => e.data.sequence_number), events.map((_, i) => i));
  for (const { event, data } of events) assert.equal(event, data.type);
  assert.deepEqual(events.map((e) => e.data.type), [
    "response.created",
    "response.in_progress",
    "response.output_item.added", // reasoning
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.output_item.done",
    "response.output_item.added", // redacted reasoning
    "response.output_item.done",
    "response.output_item.added", // message
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.output_item.added", // call a
    "response.function_call_arguments.delta",
    "response.output_item.added", // call b
    "response.function_call_arguments.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
  ]);
});

Deno.test("responses stream: the completed response holds the same output and usage as the JSON answer", () => {
  const completed = parsed(rendered(busyTurn)).at(-1)!.data.response;
  const json = read({ model: "claude-haiku-4-5", input: "x" }).render.json(busyAnswer, false);
  assert.equal(completed.status, "completed");
  assert.deepEqual(completed.usage, {
    input_tokens: 40,
    input_tokens_details: { cached_tokens: 8, cache_write_tokens: 4 },
    output_tokens: 30,
    output_tokens_details: { reasoning_tokens: 12 },
    total_tokens: 70,
  });
  assert.deepEqual(completed.output.map((item: { type: string }) => item.type), [
    "reasoning",
    "reasoning",
    "message",
    "function_call",
    "function_call",
  ]);
  assert.deepEqual(completed.output[0].summary, [{
    type: "summary_text",
    text: "Two cities, two calls.",
  }]);
  assert.equal(completed.output[0].encrypted_content, "sig-abc");
  assert.deepEqual(completed.output[1].summary, []);
  assert.equal(completed.output[1].encrypted_content, "opaque-data");
  assert.deepEqual(completed, json);
});

Deno.test("responses stream: the official SDK accumulates the interleaved turn whole", async () => {
  const { types, response } = await throughSdk(rendered(busyTurn));
  assert.equal(types.at(-1), "response.completed");
  assert.equal(response.status, "completed");
  assert.equal(response.output_text, "Checking both.");
  const calls = response.output.filter((item) => item.type === "function_call");
  assert.deepEqual(calls.map((c) => [c.call_id, JSON.parse(c.arguments)]), [
    ["toolu_a", { city: "Oslo" }],
    ["toolu_b", { city: "Rome" }],
  ]);
});

Deno.test("responses stream: a token-limit stop ends in response.incomplete, as the JSON answer says", async () => {
  const events: ChatStreamEvent[] = [
    { type: "start", provider: "openai", model: "gpt-4o-mini" },
    { type: "text-delta", text: "cut sh" },
    { type: "finish", finishReason: "length", usage, costUsd: 0 },
  ];
  const last = parsed(rendered(events)).at(-1)!.data;
  assert.equal(last.type, "response.incomplete");
  assert.equal(last.response.status, "incomplete");
  assert.deepEqual(last.response.incomplete_details, { reason: "max_output_tokens" });
  assert.equal(last.response.output[0].status, "incomplete");
  const json = read({ model: "gpt-4o-mini", input: "x" }).render.json(
    { ...busyAnswer, text: "cut sh", toolCalls: [], reasoning: [], finishReason: "length" },
    false,
  ) as { status: string; incomplete_details: unknown };
  assert.equal(json.status, "incomplete");
  assert.deepEqual(json.incomplete_details, { reason: "max_output_tokens" });

  const { response } = await throughSdk(rendered(events));
  assert.equal(response.status, "incomplete");
  assert.equal(response.output_text, "cut sh");
});

Deno.test("responses stream: an answer with nothing in it still has its (empty) message", () => {
  const events = parsed(rendered([
    { type: "start", provider: "openai", model: "gpt-4o-mini" },
    { type: "finish", finishReason: "stop", usage, costUsd: 0 },
  ]));
  const output = events.at(-1)!.data.response.output;
  assert.equal(output.length, 1);
  assert.equal(output[0].type, "message");
  assert.equal(output[0].content[0].text, "");
});

Deno.test("responses stream: a failure mid-stream is an error event with the gateway's code, then response.failed", async () => {
  const sse = rendered(
    busyTurn.slice(0, 6),
    new LLMError("NETWORK", "upstream connection lost", { retryable: true }),
  );
  const events = parsed(sse);
  const [error, failed] = events.slice(-2).map((e) => e.data);
  assert.deepEqual(error, {
    type: "error",
    code: "NETWORK",
    message: "upstream connection lost",
    param: null,
    sequence_number: events.length - 2,
  });
  assert.equal(failed.type, "response.failed");
  assert.equal(failed.response.status, "failed");
  assert.equal(failed.response.error.message, "upstream connection lost");

  await assert.rejects(
    () => throughSdk(sse),
    (e: unknown) => e instanceof OpenAI.APIError && e.code === "NETWORK",
  );
});
