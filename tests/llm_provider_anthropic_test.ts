/**
 * The Anthropic adapter against the mock provider (and, for usage shapes the
 * mock cannot be driven to through the shared types, against canned answers):
 * request and response mapping, streaming and failure classification.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import type { MockProvider } from "../scripts/mock-provider.ts";
import {
  ask,
  callOptions,
  collect,
  failedStream,
  rejection,
  withMock,
} from "./helpers/adapter-kit.ts";
import { createProviderAdapter } from "../supabase/functions/_shared/llm/providers/create-adapter.ts";
import type { ProviderAdapter } from "../supabase/functions/_shared/llm/providers/provider.ts";
import { BUILT_IN_PROVIDERS } from "../supabase/functions/_shared/llm/providers/registry.ts";
import type { LLMStreamEvent, LLMTool } from "../supabase/functions/_shared/llm/types.ts";

const KEY = "sk-ant-test-adapter-0123456789";
const MODEL = "claude-sonnet-4-6";
const spec = BUILT_IN_PROVIDERS.find((s) => s.name === "anthropic")!;

function adapterFor(mock: MockProvider, apiKey = KEY): ProviderAdapter {
  return createProviderAdapter({
    spec,
    apiKey,
    baseUrl: mock.anthropicBaseUrl,
    fetch: globalThis.fetch,
    now: Date.now,
  });
}

/** An adapter whose every call gets `answer` (for shapes the mock is never asked for). */
function cannedAdapter(answer: () => Response): ProviderAdapter {
  return createProviderAdapter({
    spec,
    apiKey: KEY,
    baseUrl: "http://canned.invalid",
    fetch: () => Promise.resolve(answer()),
    now: Date.now,
  });
}

const opts = (model = MODEL, signal = new AbortController().signal) => callOptions(model, signal);

const weather: LLMTool = {
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const time: LLMTool = {
  name: "get_time",
  parameters: { type: "object", properties: { zone: { type: "string" } } },
};

type Sent = Record<string, unknown> & { messages: { role: string; content: unknown }[] };
const sent = (mock: MockProvider, i = 0) => mock.requests[i].body as Sent;

Deno.test("anthropic adapter: chat returns the text, finish reason, usage, provider and model", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat(ask("Hello Claude"), opts());
    assert.match(response.text, /^Mock reply to: Hello Claude alpha/);
    assert.equal(response.finishReason, "stop");
    assert.deepEqual(response.toolCalls, []);
    assert.equal(response.provider, "anthropic");
    assert.equal(response.model, MODEL);
    assert.equal(response.usage.outputTokens, 20);
    assert.ok(response.usage.inputTokens > 0);
    assert.equal(response.usage.cachedInputTokens, 0);
    assert.equal(response.usage.cacheWriteTokens, 0);
    assert.equal(mock.requests[0].path, "/v1/messages");
    assert.equal(mock.requests[0].apiKey, KEY);
  });
});

Deno.test("anthropic adapter: max_tokens defaults to 4096; a short cap finishes with length", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    await adapter.chat(ask("hi"), opts());
    assert.equal(sent(mock).max_tokens, 4096);
    const capped = await adapter.chat(ask("hi", { maxTokens: 4 }), opts());
    assert.equal(sent(mock, 1).max_tokens, 4);
    assert.equal(capped.finishReason, "length");
  });
});

Deno.test("anthropic adapter: system messages become the system parameter, joined", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock).chat({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "first" },
        { role: "system", content: "Be kind." },
        { role: "user", content: "second" },
      ],
      stop: ["END"],
      user: "user-123",
    }, opts());
    const body = sent(mock);
    assert.equal(body.system, "Be brief.\n\nBe kind.");
    // Consecutive user turns merge: Anthropic wants the roles to alternate.
    assert.deepEqual(body.messages, [{
      role: "user",
      content: [{ type: "text", text: "first" }, { type: "text", text: "second" }],
    }]);
    assert.deepEqual(body.stop_sequences, ["END"]);
    assert.deepEqual(body.metadata, { user_id: "user-123" });
  });
});

Deno.test("anthropic adapter: sampling parameters are not sent (API 2026-10-21 rejects them)", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock).chat(ask("hi", { temperature: 1.7, topP: 0.5 }), opts());
    const body = sent(mock);
    assert.equal("temperature" in body, false);
    assert.equal("top_p" in body, false);
  });
});

Deno.test("anthropic adapter: images from data: URLs go inline, https: URLs by reference", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock).chat({
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "Compare" },
          { type: "image", url: "data:image/png;base64,iVBORw0KGgo=" },
          { type: "image", url: "https://example.com/cat.jpg", detail: "high" },
        ],
      }],
    }, opts());
    assert.deepEqual(sent(mock).messages[0].content, [
      { type: "text", text: "Compare" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
  });
});

Deno.test("anthropic adapter: json_object is asked for in the system prompt; a schema goes in output_config.format", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    await adapter.chat(
      {
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "x" }],
        responseFormat: { type: "json_object" },
      },
      opts(),
    );
    const objectSystem = String(sent(mock, 0).system);
    assert.match(objectSystem, /^Be brief\.\n\n/);
    assert.match(objectSystem, /JSON object/);
    assert.equal("output_config" in sent(mock, 0), false);

    const schema = {
      type: "object",
      properties: { answer: { type: "string" }, score: { type: "integer" } },
      required: ["answer", "score"],
      additionalProperties: false,
    };
    const answer = await adapter.chat(
      {
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "x" }],
        responseFormat: { type: "json_schema", name: "reply", schema },
      },
      opts(),
    );
    // Never only an instruction: the schema reaches Claude as structured output, the prompt untouched.
    assert.deepEqual(sent(mock, 1).output_config, { format: { type: "json_schema", schema } });
    assert.equal(sent(mock, 1).system, "Be brief.");
    assert.deepEqual(JSON.parse(answer.text), { answer: "sample-answer", score: 1 });
    assert.equal(answer.finishReason, "stop");
  });
});

Deno.test("anthropic adapter: parallel tool calls come back with ids and JSON arguments", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat(
      ask("call get_weather and get_time", { tools: [weather, time] }),
      opts(),
    );
    assert.equal(response.finishReason, "tool_calls");
    assert.equal(response.text, "Calling get_weather get_time");
    assert.deepEqual(response.toolCalls.map((c) => c.name), ["get_weather", "get_time"]);
    assert.ok(response.toolCalls.every((c) => c.id.startsWith("toolu_mock_")));
    assert.deepEqual(JSON.parse(response.toolCalls[0].arguments), { city: "sample-city" });
    assert.deepEqual(sent(mock).tools, [
      { name: "get_weather", description: "Weather for a city", input_schema: weather.parameters },
      { name: "get_time", input_schema: time.parameters },
    ]);
    assert.equal("tool_choice" in sent(mock), false);
  });
});

Deno.test("anthropic adapter: tool choices map to Anthropic's, parallel off disables parallel use", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const tools = [weather, time];
    const both = "call get_weather and get_time";
    const serial = await adapter.chat(ask(both, { tools, parallelToolCalls: false }), opts());
    assert.deepEqual(sent(mock, 0).tool_choice, { type: "auto", disable_parallel_tool_use: true });
    assert.equal(serial.toolCalls.length, 1);

    await adapter.chat(ask(both, { tools, toolChoice: "auto" }), opts());
    assert.deepEqual(sent(mock, 1).tool_choice, { type: "auto" });

    const required = await adapter.chat(ask("x", { tools, toolChoice: "required" }), opts());
    assert.deepEqual(sent(mock, 2).tool_choice, { type: "any" });
    assert.equal(required.toolCalls[0].name, "get_weather");

    const named = await adapter.chat(
      ask("x", { tools, toolChoice: { name: "get_time" }, parallelToolCalls: false }),
      opts(),
    );
    assert.deepEqual(sent(mock, 3).tool_choice, {
      type: "tool",
      name: "get_time",
      disable_parallel_tool_use: true,
    });
    assert.equal(named.toolCalls[0].name, "get_time");

    const none = await adapter.chat(ask(both, { tools, toolChoice: "none" }), opts());
    assert.deepEqual(sent(mock, 4).tool_choice, { type: "none" });
    assert.deepEqual(none.toolCalls, []);

    // Without tools there is no tool_choice (Anthropic rejects one).
    await adapter.chat(ask("plain", { toolChoice: "required" }), opts());
    assert.equal("tool_choice" in sent(mock, 5), false);
  });
});

Deno.test("anthropic adapter: tool results merge into one user turn and the answer is text", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat({
      messages: [
        { role: "system", content: "Use tools." },
        { role: "user", content: "get_weather and get_time" },
        {
          role: "assistant",
          content: "Checking.",
          toolCalls: [
            { id: "toolu_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
            { id: "toolu_2", name: "get_time", arguments: "not json" },
          ],
        },
        { role: "tool", toolCallId: "toolu_1", content: "rain" },
        { role: "tool", toolCallId: "toolu_2", content: "noon" },
      ],
      tools: [weather, time],
    }, opts());
    assert.equal(response.finishReason, "stop");
    assert.match(response.text, /^Mock reply to: get_weather and get_time/);
    assert.deepEqual(sent(mock).messages, [
      { role: "user", content: [{ type: "text", text: "get_weather and get_time" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } },
          // Arguments that are not a JSON object still make a valid turn.
          { type: "tool_use", id: "toolu_2", name: "get_time", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "rain" },
          { type: "tool_result", tool_use_id: "toolu_2", content: "noon" },
        ],
      },
    ]);
  });
});

Deno.test("anthropic adapter: stream: start first, text deltas, finish last with usage", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const events = await collect(adapter.stream(ask("Stream it"), opts()));
    assert.deepEqual(events[0], { type: "start", provider: "anthropic", model: MODEL });
    assert.ok(events.slice(1, -1).every((e) => e.type === "text-delta"));
    const finish = events.at(-1)!;
    assert.equal(finish.type, "finish");
    if (finish.type !== "finish") return;
    assert.equal(finish.finishReason, "stop");
    assert.equal(finish.usage.outputTokens, 20);
    assert.ok(finish.usage.inputTokens > 0);
    assert.equal(sent(mock).stream, true);
    const text = events.map((e) => (e.type === "text-delta" ? e.text : "")).join("");
    assert.equal(text, (await adapter.chat(ask("Stream it"), opts())).text);
  });
});

Deno.test("anthropic adapter: stream: tool calls are numbered among tool calls, not blocks", async () => {
  await withMock(async (mock) => {
    const events = await collect(
      adapterFor(mock).stream(
        ask("call get_weather and get_time", { tools: [weather, time] }),
        opts(),
      ),
    );
    const calls: { id?: string; name?: string; args: string }[] = [];
    for (const event of events) {
      if (event.type !== "tool-call-delta") continue;
      const call = calls[event.index] ??= { args: "" };
      if (event.id) {
        assert.equal(call.id, undefined, "the id comes once, on the first delta");
        call.id = event.id;
        call.name = event.name;
      }
      call.args += event.argumentsDelta;
    }
    // The mock's text block is block 0, so the tool blocks are 1 and 2; calls are 0 and 1.
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((c) => c.name), ["get_weather", "get_time"]);
    assert.ok(calls.every((c) => c.id?.startsWith("toolu_mock_")));
    assert.deepEqual(JSON.parse(calls[0].args), { city: "sample-city" });
    assert.deepEqual(JSON.parse(calls[1].args), { zone: "sample-zone" });
    const finish = events.at(-1)!;
    assert.equal(finish.type === "finish" && finish.finishReason, "tool_calls");
  });
});

Deno.test("anthropic adapter: cache reads and writes count into input tokens", async () => {
  const usage = {
    input_tokens: 10,
    output_tokens: 5,
    cache_read_input_tokens: 300,
    cache_creation_input_tokens: 40,
  };
  const message = {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: MODEL,
    content: [{ type: "text", text: "Hi" }, { type: "text", text: " there" }],
    stop_reason: "refusal",
    stop_sequence: null,
    usage,
  };
  const adapter = cannedAdapter(() => Response.json(message));
  const response = await adapter.chat(ask("x"), opts());
  assert.equal(response.text, "Hi there");
  assert.equal(response.finishReason, "content_filter");
  assert.deepEqual(response.usage, {
    inputTokens: 350,
    outputTokens: 5,
    cachedInputTokens: 300,
    cacheWriteTokens: 40,
  });

  const sse = [
    ["message_start", { message: { ...message, content: [], stop_reason: null, usage } }],
    ["content_block_start", { index: 0, content_block: { type: "text", text: "" } }],
    ["content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hi" } }],
    ["content_block_stop", { index: 0 }],
    ["message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 9 } }],
    ["message_stop", {}],
  ].map(([type, data]) => `event: ${type}\ndata: ${JSON.stringify({ type, ...Object(data) })}\n\n`);
  const streamed = cannedAdapter(() =>
    new Response(sse.join(""), { headers: { "content-type": "text/event-stream" } })
  );
  const events = await collect(streamed.stream(ask("x"), opts()));
  assert.deepEqual(events.at(-1), {
    type: "finish",
    finishReason: "stop",
    usage: { inputTokens: 350, outputTokens: 9, cachedInputTokens: 300, cacheWriteTokens: 40 },
  });
});

Deno.test("anthropic adapter: stream: a tool call that streams no arguments gets {}", async () => {
  const sse = [
    ["message_start", {
      message: {
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: MODEL,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 3, output_tokens: 1 },
      },
    }],
    ["content_block_start", {
      index: 0,
      content_block: { type: "tool_use", id: "toolu_1", name: "now", input: {} },
    }],
    ["content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: "" } }],
    ["content_block_stop", { index: 0 }],
    ["message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 4 } }],
    ["message_stop", {}],
  ].map(([type, data]) => `event: ${type}\ndata: ${JSON.stringify({ type, ...Object(data) })}\n\n`);
  const adapter = cannedAdapter(() =>
    new Response(sse.join(""), { headers: { "content-type": "text/event-stream" } })
  );
  const deltas = (await collect(adapter.stream(ask("x"), opts())))
    .filter((e) => e.type === "tool-call-delta");
  assert.deepEqual(deltas, [
    { type: "tool-call-delta", index: 0, id: "toolu_1", name: "now", argumentsDelta: "" },
    { type: "tool-call-delta", index: 0, argumentsDelta: "{}" },
  ]);
});

Deno.test("anthropic adapter: there are no embeddings", () => {
  assert.equal(cannedAdapter(() => Response.error()).embed, undefined);
});

Deno.test("anthropic adapter: HTTP failures classify by status and error type", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const overloaded = await rejection(adapter.chat(ask("x"), opts(`${MODEL}::status=529`)));
    assert.equal(overloaded.code, "PROVIDER_ERROR");
    assert.equal(overloaded.retryable, true);
    assert.equal(overloaded.upstreamStatus, 529);

    const server = await rejection(adapter.chat(ask("x"), opts(`${MODEL}::status=500`)));
    assert.equal(server.code, "PROVIDER_ERROR");
    assert.equal(server.retryable, true);

    const limited = await rejection(
      adapter.chat(ask("x"), opts(`${MODEL}::status=429,retry-after=2`)),
    );
    assert.equal(limited.code, "RATE_LIMIT");
    assert.equal(limited.retryable, true);
    assert.equal(limited.retryAfterMs, 2000);

    const tooLong = await rejection(
      adapter.chat(ask("x"), opts(`${MODEL}::status=400,code=context_length_exceeded`)),
    );
    assert.equal(tooLong.code, "TOKEN_LIMIT_EXCEEDED");
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.retryable, false);

    const streamed = await rejection(
      collect(adapter.stream(ask("x"), opts(`${MODEL}::status=529`))),
    );
    assert.equal(streamed.retryable, true);
  });
});

Deno.test("anthropic adapter: a rejected key is INVALID_API_KEY and the key never shows", async () => {
  await withMock(async (mock) => {
    const key = "sk-ant-invalid-but-secret-0123456789";
    const error = await rejection(adapterFor(mock, key).chat(ask("x"), opts()));
    assert.equal(error.code, "INVALID_API_KEY");
    assert.equal(error.status, 502);
    assert.equal(JSON.stringify(error.toJSON()).includes(key), false);
    assert.equal(error.message.includes(key), false);
  });
});

Deno.test("anthropic adapter: a dropped connection is NETWORK, retryable", async () => {
  await withMock(async (mock) => {
    const error = await rejection(adapterFor(mock).chat(ask("x"), opts(`${MODEL}::reset`)));
    assert.equal(error.code, "NETWORK");
    assert.equal(error.retryable, true);
  });
});

Deno.test("anthropic adapter: an abort classifies by its reason: TimeoutError → TIMEOUT, else ABORTED", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const timer = new AbortController();
    setTimeout(() => timer.abort(new DOMException("t", "TimeoutError")), 50);
    const timedOut = await rejection(adapter.chat(ask("x"), opts(`${MODEL}::hang`, timer.signal)));
    assert.equal(timedOut.code, "TIMEOUT");
    assert.equal(timedOut.retryable, true);

    const caller = new AbortController();
    setTimeout(() => caller.abort(), 50);
    const aborted = await rejection(
      collect(adapter.stream(ask("x"), opts(`${MODEL}::hang`, caller.signal))),
    );
    assert.equal(aborted.code, "ABORTED");
  });
});

Deno.test("anthropic adapter: an abort mid-stream throws, never a finished answer", async () => {
  await withMock(async (mock) => {
    const caller = new AbortController();
    const seen: LLMStreamEvent[] = [];
    const error = await rejection((async () => {
      const events = adapterFor(mock).stream(
        ask("x"),
        opts(`${MODEL}::chunk-delay=40`, caller.signal),
      );
      for await (const event of events) {
        seen.push(event);
        if (event.type === "text-delta") caller.abort();
      }
    })());
    assert.equal(error.code, "ABORTED");
    assert.equal(seen.some((e) => e.type === "finish"), false);
  });
});

Deno.test("anthropic adapter: stream faults after the first events are thrown, classified", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const errorEvent = await failedStream(
      adapter.stream(ask("x"), opts(`${MODEL}::error-event=4`)),
    );
    assert.equal(errorEvent.seen[0].type, "start");
    assert.ok(errorEvent.seen.some((e) => e.type === "text-delta"));
    // The mock's error event is overloaded_error: as retryable as a 529.
    assert.equal(errorEvent.error.code, "PROVIDER_ERROR");
    assert.equal(errorEvent.error.retryable, true);

    const malformed = await failedStream(adapter.stream(ask("x"), opts(`${MODEL}::malformed=2`)));
    assert.equal(malformed.error.code, "PROVIDER_ERROR");
    assert.equal(malformed.error.retryable, true);

    const reset = await failedStream(adapter.stream(ask("x"), opts(`${MODEL}::reset-after=3`)));
    assert.equal(reset.error.code, "NETWORK");
    assert.equal(reset.error.retryable, true);
  });
});

Deno.test("anthropic adapter: a stream cut before message_stop throws and never finishes", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const early = await failedStream(adapter.stream(ask("x"), opts(`${MODEL}::cut=3`)));
    assert.equal(early.seen[0].type, "start");
    assert.equal(early.error.retryable, true);
    assert.match(early.error.message, /stream ended before the model finished/);
    // 20 words: message_start, block start, ping, 20 deltas, block stop, message_delta = 25 events.
    const late = await failedStream(adapter.stream(ask("x"), opts(`${MODEL}::cut=25`)));
    assert.equal(late.seen.some((e) => e.type === "finish"), false);
    assert.equal(mock.requests[1].outcome, "cut");
  });
});

Deno.test("anthropic adapter: a cut or unreadable JSON answer is PROVIDER_ERROR, retryable", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    for (const fault of ["cut=1", "malformed=1"]) {
      const error = await rejection(adapter.chat(ask("x"), opts(`${MODEL}::${fault}`)));
      assert.equal(error.code, "PROVIDER_ERROR", fault);
      assert.equal(error.retryable, true, fault);
    }
  });
});

Deno.test("anthropic adapter: leaving a stream early aborts the upstream request", async () => {
  await withMock(async (mock) => {
    const events = adapterFor(mock).stream(ask("x"), opts(`${MODEL}::chunk-delay=30`));
    for await (const event of events) if (event.type === "text-delta") break;
    for (let i = 0; i < 50 && mock.requests[0].outcome === "pending"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(mock.requests[0].outcome, "aborted");
    assert.ok(mock.requests[0].eventsSent < 10);
  });
});

/** What one request put on the wire. */
interface WireRequest {
  url: string;
  headers: Record<string, string>;
}

/** A fetch that records each request and answers 400, so any client stops after one call. */
function recordingFetch(seen: WireRequest[]): typeof fetch {
  return (input, init) => {
    const request = new Request(input, init);
    seen.push({ url: request.url, headers: Object.fromEntries(request.headers) });
    return Promise.resolve(
      Response.json({
        type: "error",
        error: { type: "invalid_request_error", message: "recorded" },
      }, {
        status: 400,
      }),
    );
  };
}

Deno.test("anthropic adapter: URL and API version are the pinned SDK's; the key goes in x-api-key", async () => {
  for (const baseUrl of ["http://upstream.test", "http://upstream.test/proxy/"]) {
    const sdkSeen: WireRequest[] = [];
    const sdk = new Anthropic({
      apiKey: KEY,
      baseURL: baseUrl,
      fetch: recordingFetch(sdkSeen),
      maxRetries: 0,
    });
    await sdk.messages.create({ model: MODEL, max_tokens: 1, messages: [] }).catch(() => {});

    const seen: WireRequest[] = [];
    const adapter = createProviderAdapter({
      spec,
      apiKey: KEY,
      baseUrl,
      fetch: recordingFetch(seen),
      now: Date.now,
    });
    await rejection(adapter.chat(ask("hi"), opts()));
    await rejection(collect(adapter.stream(ask("hi"), opts())));

    for (const request of seen) {
      assert.equal(request.url, sdkSeen[0].url);
      assert.equal(request.headers["anthropic-version"], sdkSeen[0].headers["anthropic-version"]);
      // The documented header for an API key; no beta features are asked for.
      assert.deepEqual(request.headers, {
        accept: "application/json",
        "anthropic-version": "2026-10-21",
        "content-type": "application/json",
        "x-api-key": KEY,
      });
    }
  }
});

Deno.test("anthropic adapter: retry-after-ms reaches the error; a non-JSON body classifies by status", async () => {
  const answering = (status: number, body: string, headers: Record<string, string>) =>
    createProviderAdapter({
      spec,
      apiKey: KEY,
      baseUrl: "http://canned.invalid",
      fetch: () => Promise.resolve(new Response(body, { status, headers })),
      now: Date.now,
    });
  const limited = await rejection(
    answering(429, '{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}', {
      "retry-after-ms": "750",
    }).chat(ask("x"), opts()),
  );
  assert.equal(limited.code, "RATE_LIMIT");
  assert.equal(limited.retryAfterMs, 750);

  const gateway = await rejection(
    answering(504, "upstream timed out", { "content-type": "text/plain" }).chat(ask("x"), opts()),
  );
  assert.equal(gateway.code, "PROVIDER_ERROR");
  assert.equal(gateway.retryable, true);
  assert.equal(gateway.upstreamStatus, 504);
});
