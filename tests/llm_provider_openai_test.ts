/**
 * The OpenAI-compatible adapter against the mock provider (and, for provider
 * quirks the mock does not speak, against canned answers): request and
 * response mapping, streaming, embeddings and failure classification.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
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
import {
  BUILT_IN_PROVIDERS,
  customProviderSpec,
} from "../supabase/functions/_shared/llm/providers/registry.ts";
import type {
  LLMChatRequest,
  LLMStreamEvent,
  LLMTool,
} from "../supabase/functions/_shared/llm/types.ts";

const KEY = "sk-test-openai-adapter-0123456789";

const specOf = (name: string) => BUILT_IN_PROVIDERS.find((spec) => spec.name === name)!;

function adapterFor(
  mock: MockProvider,
  provider = "openai",
  apiKey = KEY,
): ProviderAdapter {
  return createProviderAdapter({
    spec: specOf(provider),
    apiKey,
    baseUrl: mock.openaiBaseUrl,
    fetch: globalThis.fetch,
    now: Date.now,
  });
}

/** An adapter whose every call gets `answer` (for shapes the mock never sends). */
function cannedAdapter(provider: string, answer: () => Response): ProviderAdapter {
  return createProviderAdapter({
    spec: specOf(provider),
    apiKey: KEY,
    baseUrl: "http://canned.invalid/v1",
    fetch: () => Promise.resolve(answer()),
    now: Date.now,
  });
}

const opts = (model = "gpt-4o-mini", signal = new AbortController().signal) =>
  callOptions(model, signal);

function textOf(events: LLMStreamEvent[]): string {
  return events.map((e) => (e.type === "text-delta" ? e.text : "")).join("");
}

const weather: LLMTool = {
  name: "get_weather",
  description: "Weather for a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
    required: ["city"],
  },
};
const time: LLMTool = {
  name: "get_time",
  parameters: { type: "object", properties: { zone: { type: "string" } } },
};

type Sent = Record<string, unknown> & { messages: Record<string, unknown>[] };
const sent = (mock: MockProvider, i = 0) => mock.requests[i].body as Sent;

Deno.test("openai adapter: chat returns the text, finish reason, usage, provider and model", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat(ask("Hello there"), opts());
    assert.match(response.text, /^Mock reply to: Hello there alpha/);
    assert.equal(response.text.split(" ").length, 20);
    assert.equal(response.finishReason, "stop");
    assert.deepEqual(response.toolCalls, []);
    assert.equal(response.provider, "openai");
    assert.equal(response.model, "gpt-4o-mini");
    assert.equal(response.usage.outputTokens, 20);
    assert.ok(response.usage.inputTokens > 0);
    assert.equal(response.usage.cachedInputTokens, 0);
    assert.equal(response.usage.cacheWriteTokens, 0);
    assert.equal(mock.requests[0].apiKey, KEY);
  });
});

Deno.test("openai adapter: a reply cut by maxTokens finishes with length", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat(ask("hi", { maxTokens: 5 }), opts());
    assert.equal(response.finishReason, "length");
    assert.equal(response.text.split(" ").length, 5);
  });
});

Deno.test("openai adapter: request mapping of messages, images and sampling options", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock).chat({
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", url: "https://example.com/cat.png", detail: "low" },
          ],
        },
      ],
      maxTokens: 50,
      temperature: 1.5,
      topP: 0.9,
      stop: ["END"],
      user: "user-123",
      responseFormat: { type: "json_schema", name: "answer", schema: { type: "object" } },
    }, opts());
    const body = sent(mock);
    assert.deepEqual(body.messages, [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "low" } },
        ],
      },
    ]);
    // The openai spec's quirk: the output cap is max_completion_tokens.
    assert.equal(body.max_completion_tokens, 50);
    assert.equal(body.max_tokens, undefined);
    assert.equal(body.temperature, 1.5);
    assert.equal(body.top_p, 0.9);
    assert.deepEqual(body.stop, ["END"]);
    assert.equal(body.user, "user-123");
    assert.deepEqual(body.response_format, {
      type: "json_schema",
      json_schema: { name: "answer", schema: { type: "object" } },
    });
    assert.equal(body.stream, undefined);
    assert.equal(body.tools, undefined);
    assert.equal(body.tool_choice, undefined);
  });
});

Deno.test("openai adapter: json_object asks for a JSON object", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat(
      ask("json please", { responseFormat: { type: "json_object" } }),
      opts(),
    );
    assert.deepEqual(sent(mock).response_format, { type: "json_object" });
    assert.ok(JSON.parse(response.text).reply);
  });
});

Deno.test("openai adapter: quirks: gemini sends max_tokens and never parallel_tool_calls", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock, "gemini").chat(
      ask("get_weather and get_time", {
        maxTokens: 50,
        tools: [weather, time],
        parallelToolCalls: false,
      }),
      opts("gemini-2.5-flash"),
    );
    const body = sent(mock);
    assert.equal(body.max_tokens, 50);
    assert.equal(body.max_completion_tokens, undefined);
    assert.equal("parallel_tool_calls" in body, false);
  });
});

Deno.test("openai adapter: quirks: stream_options only where the provider accepts it", async () => {
  await withMock(async (mock) => {
    await collect(adapterFor(mock, "openai").stream(ask("one"), opts()));
    await collect(adapterFor(mock, "mistral").stream(ask("two"), opts("mistral-small")));
    assert.equal(sent(mock, 0).stream, true);
    assert.deepEqual(sent(mock, 0).stream_options, { include_usage: true });
    assert.equal(sent(mock, 1).stream, true);
    assert.equal("stream_options" in sent(mock, 1), false);
  });
});

Deno.test("openai adapter: a keyless custom provider gets a placeholder key instead of failing", async () => {
  await withMock(async (mock) => {
    const spec = customProviderSpec({ name: "local", baseUrl: mock.openaiBaseUrl });
    assert.equal(spec.requiresKey, false);
    const adapter = createProviderAdapter({
      spec,
      apiKey: "",
      baseUrl: mock.openaiBaseUrl,
      fetch: globalThis.fetch,
      now: Date.now,
    });
    const response = await adapter.chat(ask("hi"), opts("llama3"));
    assert.equal(response.provider, "local");
    assert.ok(mock.requests[0].apiKey);
  });
});

Deno.test("openai adapter: parallel tool calls come back whole, with their ids", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat(
      ask("Use get_weather and get_time", { tools: [weather, time] }),
      opts(),
    );
    assert.equal(response.finishReason, "tool_calls");
    assert.equal(response.text, "");
    assert.deepEqual(response.toolCalls.map((c) => c.name), ["get_weather", "get_time"]);
    assert.ok(response.toolCalls.every((c) => c.id.startsWith("call_mock_")));
    assert.deepEqual(JSON.parse(response.toolCalls[0].arguments), {
      city: "sample-city",
      unit: "c",
    });
    assert.deepEqual(sent(mock).tools, [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: weather.parameters,
        },
      },
      { type: "function", function: { name: "get_time", parameters: time.parameters } },
    ]);
  });
});

Deno.test("openai adapter: tool choice and parallelToolCalls reach the provider", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const serial = await adapter.chat(
      ask("Use get_weather and get_time", { tools: [weather, time], parallelToolCalls: false }),
      opts(),
    );
    assert.equal(sent(mock, 0).parallel_tool_calls, false);
    assert.equal(serial.toolCalls.length, 1);

    const named = await adapter.chat(
      ask("anything", { tools: [weather, time], toolChoice: { name: "get_time" } }),
      opts(),
    );
    assert.deepEqual(sent(mock, 1).tool_choice, {
      type: "function",
      function: { name: "get_time" },
    });
    assert.equal(named.toolCalls[0].name, "get_time");

    const required = await adapter.chat(
      ask("anything", { tools: [weather, time], toolChoice: "required" }),
      opts(),
    );
    assert.equal(sent(mock, 2).tool_choice, "required");
    assert.equal(required.toolCalls[0].name, "get_weather");

    const none = await adapter.chat(
      ask("get_weather please", { tools: [weather], toolChoice: "none" }),
      opts(),
    );
    assert.equal(sent(mock, 3).tool_choice, "none");
    assert.deepEqual(none.toolCalls, []);

    // Without tools, neither tool_choice nor parallel_tool_calls is sent (providers reject them).
    await adapter.chat(ask("plain", { toolChoice: "auto", parallelToolCalls: false }), opts());
    assert.equal("tool_choice" in sent(mock, 4), false);
    assert.equal("parallel_tool_calls" in sent(mock, 4), false);
  });
});

Deno.test("openai adapter: a tool result round trip ends in text", async () => {
  await withMock(async (mock) => {
    const response = await adapterFor(mock).chat({
      messages: [
        { role: "user", content: "get_weather in Oslo" },
        {
          role: "assistant",
          content: null,
          toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }],
        },
        { role: "tool", toolCallId: "call_1", content: "rain" },
      ],
      tools: [weather],
    }, opts());
    assert.equal(response.finishReason, "stop");
    assert.match(response.text, /^Mock reply to: get_weather in Oslo/);
    assert.deepEqual(sent(mock).messages.slice(1), [
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
        }],
      },
      { role: "tool", tool_call_id: "call_1", content: "rain" },
    ]);
  });
});

Deno.test("openai adapter: a repeated long prefix reports cached input tokens", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const request: LLMChatRequest = {
      messages: [{ role: "system", content: "rules ".repeat(1200) }, {
        role: "user",
        content: "first",
      }],
    };
    const first = await adapter.chat(request, opts());
    const second = await adapter.chat(request, opts());
    assert.equal(first.usage.cachedInputTokens, 0);
    assert.ok(second.usage.cachedInputTokens >= 1024);
    assert.ok(second.usage.inputTokens >= second.usage.cachedInputTokens);
  });
});

Deno.test("openai adapter: stream: start first, text deltas, finish last with usage", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const events = await collect(adapter.stream(ask("Stream please"), opts()));
    assert.deepEqual(events[0], { type: "start", provider: "openai", model: "gpt-4o-mini" });
    const finish = events.at(-1)!;
    assert.equal(finish.type, "finish");
    if (finish.type !== "finish") return;
    assert.equal(finish.finishReason, "stop");
    assert.equal(finish.usage.outputTokens, 20);
    assert.ok(finish.usage.inputTokens > 0);
    assert.ok(events.slice(1, -1).every((e) => e.type === "text-delta"));
    const whole = await adapter.chat(ask("Stream please"), opts());
    assert.equal(textOf(events), whole.text);
  });
});

Deno.test("openai adapter: stream: parallel tool calls arrive as indexed deltas that assemble", async () => {
  await withMock(async (mock) => {
    const events = await collect(
      adapterFor(mock).stream(ask("get_weather and get_time", { tools: [weather, time] }), opts()),
    );
    const deltas = events.filter((e) => e.type === "tool-call-delta");
    const calls: { id?: string; name?: string; args: string }[] = [];
    for (const delta of deltas) {
      if (delta.type !== "tool-call-delta") continue;
      const call = calls[delta.index] ??= { args: "" };
      if (delta.id) {
        assert.equal(call.id, undefined, "the id comes once, on the first delta");
        call.id = delta.id;
        call.name = delta.name;
      }
      call.args += delta.argumentsDelta;
    }
    assert.deepEqual(
      [...new Set(deltas.map((d) => d.type === "tool-call-delta" && d.index))],
      [0, 1],
    );
    assert.deepEqual(calls.map((c) => c.name), ["get_weather", "get_time"]);
    assert.ok(calls.every((c) => c.id?.startsWith("call_mock_")));
    assert.deepEqual(JSON.parse(calls[0].args), { city: "sample-city", unit: "c" });
    assert.deepEqual(JSON.parse(calls[1].args), { zone: "sample-zone" });
    const finish = events.at(-1)!;
    assert.equal(finish.type === "finish" && finish.finishReason, "tool_calls");
  });
});

Deno.test("openai adapter: embeddings come back in input order with the requested size", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    assert.ok(adapter.embed);
    const response = await adapter.embed(
      { input: ["one", "two", "three"], dimensions: 8 },
      opts("text-embedding-3-small"),
    );
    assert.equal(response.embeddings.length, 3);
    assert.ok(response.embeddings.every((v) => v.length === 8));
    assert.ok(response.usage.inputTokens > 0);
    assert.equal(response.provider, "openai");
    assert.equal(response.model, "text-embedding-3-small");
    const body = sent(mock);
    assert.equal(body.encoding_format, "float");
    assert.equal(body.dimensions, 8);
    const single = await adapter.embed(
      { input: ["two"], dimensions: 8 },
      opts("text-embedding-3-small"),
    );
    assert.deepEqual(single.embeddings[0], response.embeddings[1]);
  });
});

Deno.test("openai adapter: embeddings are re-ordered by index", async () => {
  const adapter = cannedAdapter("openai", () =>
    Response.json({
      object: "list",
      data: [
        { object: "embedding", index: 1, embedding: [1, 1] },
        { object: "embedding", index: 0, embedding: [0, 0] },
      ],
      model: "m",
      usage: { prompt_tokens: 2, total_tokens: 2 },
    }));
  const response = await adapter.embed!({ input: ["a", "b"] }, opts("m"));
  assert.deepEqual(response.embeddings, [[0, 0], [1, 1]]);
});

Deno.test("openai adapter: embed exists only where the provider serves embeddings", () => {
  const never = () => Response.error();
  assert.equal(cannedAdapter("groq", never).embed, undefined);
  assert.equal(cannedAdapter("openrouter", never).embed, undefined);
  assert.equal(typeof cannedAdapter("mistral", never).embed, "function");
  assert.equal(typeof cannedAdapter("openai", never).embed, "function");
});

Deno.test("openai adapter: compatible usage shapes: DeepSeek cache hits, Groq stream usage", async () => {
  const deepseek = cannedAdapter("deepseek", () =>
    Response.json({
      id: "x",
      object: "chat.completion",
      created: 0,
      model: "deepseek-chat",
      choices: [{
        index: 0,
        message: { role: "assistant", content: null },
        finish_reason: "function_call",
      }],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 5,
        total_tokens: 105,
        prompt_cache_hit_tokens: 64,
      },
    }));
  const response = await deepseek.chat(ask("x"), opts("deepseek-chat"));
  assert.deepEqual(response.usage, {
    inputTokens: 100,
    outputTokens: 5,
    cachedInputTokens: 64,
    cacheWriteTokens: 0,
  });
  assert.equal(response.text, "");
  assert.equal(response.finishReason, "tool_calls");

  const chunk = (extra: Record<string, unknown>) =>
    `data: ${
      JSON.stringify({ id: "x", object: "chat.completion.chunk", model: "llama", ...extra })
    }\n\n`;
  const groq = cannedAdapter("groq", () =>
    new Response(
      chunk({ choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] }) +
        chunk({
          choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
          x_groq: { usage: { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 } },
        }) + "data: [DONE]\n\n",
      { headers: { "content-type": "text/event-stream" } },
    ));
  const events = await collect(groq.stream(ask("x"), opts("llama")));
  assert.deepEqual(events.at(-1), {
    type: "finish",
    finishReason: "stop",
    usage: { inputTokens: 7, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0 },
  });
});

const sse = (...payloads: unknown[]) =>
  new Response(
    payloads.map((p) => `data: ${JSON.stringify(p)}\n\n`).join("") + "data: [DONE]\n\n",
    {
      headers: { "content-type": "text/event-stream" },
    },
  );
const chunkOf = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: "x",
  object: "chat.completion.chunk",
  model: "m",
  choices: [{ index: 0, delta, finish_reason: finish }],
});

Deno.test("openai adapter: stream: tool calls without an index are numbered by their ids", async () => {
  const adapter = cannedAdapter("openrouter", () =>
    sse(
      chunkOf({ tool_calls: [{ id: "a", function: { name: "one", arguments: "{}" } }] }),
      chunkOf({ tool_calls: [{ id: "b", function: { name: "two", arguments: "{" } }] }),
      chunkOf({ tool_calls: [{ function: { arguments: "}" } }] }),
      chunkOf({}, "tool_calls"),
    ));
  const deltas = (await collect(adapter.stream(ask("x"), opts("m"))))
    .filter((e) => e.type === "tool-call-delta");
  assert.deepEqual(deltas, [
    { type: "tool-call-delta", index: 0, id: "a", name: "one", argumentsDelta: "{}" },
    { type: "tool-call-delta", index: 1, id: "b", name: "two", argumentsDelta: "{" },
    { type: "tool-call-delta", index: 1, argumentsDelta: "}" },
  ]);
});

Deno.test("openai adapter: a rate-limit error event inside a stream is RATE_LIMIT", async () => {
  const adapter = cannedAdapter("openrouter", () =>
    sse(
      chunkOf({ content: "Hi" }),
      { error: { message: "Rate limit exceeded", code: 429 } },
    ));
  const { error, seen } = await failedStream(adapter.stream(ask("x"), opts("m")));
  assert.deepEqual(seen.map((e) => e.type), ["start", "text-delta"]);
  assert.equal(error.code, "RATE_LIMIT");
  assert.equal(error.retryable, true);
});

Deno.test("openai adapter: HTTP failures classify by status and code", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const server = await rejection(adapter.chat(ask("x"), opts("gpt-4o-mini::status=500")));
    assert.equal(server.code, "PROVIDER_ERROR");
    assert.equal(server.retryable, true);
    assert.equal(server.upstreamStatus, 500);
    assert.equal(server.provider, "openai");

    const limited = await rejection(
      adapter.chat(ask("x"), opts("gpt-4o-mini::status=429,retry-after=2")),
    );
    assert.equal(limited.code, "RATE_LIMIT");
    assert.equal(limited.retryable, true);
    assert.equal(limited.retryAfterMs, 2000);

    const tooLong = await rejection(
      adapter.chat(ask("x"), opts("gpt-4o-mini::status=400,code=context_length_exceeded")),
    );
    assert.equal(tooLong.code, "TOKEN_LIMIT_EXCEEDED");
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.retryable, false);

    const unavailable = await rejection(
      collect(adapter.stream(ask("x"), opts("gpt-4o-mini::status=503"))),
    );
    assert.equal(unavailable.code, "PROVIDER_ERROR");
    assert.equal(unavailable.retryable, true);
  });
});

Deno.test("openai adapter: a rejected key is INVALID_API_KEY and the key never shows", async () => {
  await withMock(async (mock) => {
    const key = "sk-invalid-but-secret-0123456789";
    const error = await rejection(adapterFor(mock, "openai", key).chat(ask("x"), opts()));
    assert.equal(error.code, "INVALID_API_KEY");
    assert.equal(error.status, 502);
    assert.equal(error.message.includes(key), false);
    assert.equal(JSON.stringify(error.toJSON()).includes(key), false);
  });
});

Deno.test("openai adapter: a dropped connection is NETWORK, retryable", async () => {
  await withMock(async (mock) => {
    const error = await rejection(adapterFor(mock).chat(ask("x"), opts("gpt-4o-mini::reset")));
    assert.equal(error.code, "NETWORK");
    assert.equal(error.retryable, true);
  });
});

Deno.test("openai adapter: an abort classifies by its reason: TimeoutError → TIMEOUT, else ABORTED", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const timer = new AbortController();
    setTimeout(() => timer.abort(new DOMException("t", "TimeoutError")), 50);
    const timedOut = await rejection(
      adapter.chat(ask("x"), opts("gpt-4o-mini::hang", timer.signal)),
    );
    assert.equal(timedOut.code, "TIMEOUT");
    assert.equal(timedOut.retryable, true);

    const caller = new AbortController();
    setTimeout(() => caller.abort(), 50);
    const aborted = await rejection(
      adapter.chat(ask("x"), opts("gpt-4o-mini::hang", caller.signal)),
    );
    assert.equal(aborted.code, "ABORTED");
    assert.equal(aborted.fallback, false);
  });
});

Deno.test("openai adapter: a timeout mid-stream throws TIMEOUT, not a finished answer", async () => {
  await withMock(async (mock) => {
    const timer = new AbortController();
    const events = adapterFor(mock).stream(
      ask("x"),
      opts("gpt-4o-mini::chunk-delay=40", timer.signal),
    );
    const seen: LLMStreamEvent[] = [];
    const error = await rejection((async () => {
      for await (const event of events) {
        seen.push(event);
        if (event.type === "text-delta") timer.abort(new DOMException("t", "TimeoutError"));
      }
    })());
    assert.equal(error.code, "TIMEOUT");
    assert.equal(seen.some((e) => e.type === "finish"), false);
  });
});

Deno.test("openai adapter: a timeout between the finish chunk and the usage chunk still throws", async () => {
  const encoder = new TextEncoder();
  const adapter = cannedAdapter("openai", () =>
    new Response(
      new ReadableStream({
        start(controller) {
          // The finish reason arrives; the usage chunk never does.
          controller.enqueue(encoder.encode(
            `data: ${JSON.stringify(chunkOf({ content: "Hi" }))}\n\n` +
              `data: ${JSON.stringify(chunkOf({}, "stop"))}\n\n`,
          ));
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    ));
  const timer = new AbortController();
  const seen: LLMStreamEvent[] = [];
  const error = await rejection((async () => {
    for await (const event of adapter.stream(ask("x"), opts("m", timer.signal))) {
      seen.push(event);
      setTimeout(() => timer.abort(new DOMException("t", "TimeoutError")), 30);
    }
  })());
  assert.equal(error.code, "TIMEOUT");
  assert.deepEqual(seen.map((e) => e.type), ["start", "text-delta"]);
});

Deno.test("openai adapter: stream faults after the first events are thrown, classified", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const errorEvent = await failedStream(
      adapter.stream(ask("x"), opts("gpt-4o-mini::error-event=3")),
    );
    assert.equal(errorEvent.seen[0].type, "start");
    assert.ok(errorEvent.seen.some((e) => e.type === "text-delta"));
    assert.equal(errorEvent.error.code, "PROVIDER_ERROR");
    assert.equal(errorEvent.error.retryable, true);

    const malformed = await failedStream(
      adapter.stream(ask("x"), opts("gpt-4o-mini::malformed=2")),
    );
    assert.equal(malformed.error.code, "PROVIDER_ERROR");
    assert.equal(malformed.error.retryable, true);

    const reset = await failedStream(adapter.stream(ask("x"), opts("gpt-4o-mini::reset-after=3")));
    assert.equal(reset.error.code, "NETWORK");
    assert.equal(reset.error.retryable, true);
  });
});

Deno.test("openai adapter: a stream cut without a finish reason throws and never finishes", async () => {
  await withMock(async (mock) => {
    const cut = await failedStream(adapterFor(mock).stream(ask("x"), opts("gpt-4o-mini::cut=3")));
    assert.equal(cut.seen[0].type, "start");
    assert.equal(cut.seen.some((e) => e.type === "finish"), false);
    assert.equal(cut.error.retryable, true);
    assert.match(cut.error.message, /stream ended before the model finished/);
    assert.equal(mock.requests[0].outcome, "cut");
  });
});

Deno.test("openai adapter: a cut or unreadable JSON answer is PROVIDER_ERROR, retryable", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    for (const fault of ["cut=1", "malformed=1"]) {
      const error = await rejection(adapter.chat(ask("x"), opts(`gpt-4o-mini::${fault}`)));
      assert.equal(error.code, "PROVIDER_ERROR", fault);
      assert.equal(error.retryable, true, fault);
    }
  });
});

Deno.test("openai adapter: nothing is yielded before the provider answers", async () => {
  await withMock(async (mock) => {
    const iterator = adapterFor(mock).stream(ask("x"), opts("gpt-4o-mini::status=503"))
      [Symbol.asyncIterator]();
    // The very first read fails, so the router can still fall back before committing a 200.
    const error = await rejection(iterator.next());
    assert.equal(error.retryable, true);
  });
});

Deno.test("openai adapter: leaving a stream early aborts the upstream request", async () => {
  await withMock(async (mock) => {
    const events = adapterFor(mock).stream(ask("x"), opts("gpt-4o-mini::chunk-delay=30"));
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
  body: unknown;
}

/** A fetch that records each request and answers 400, so any client stops after one call. */
function recordingFetch(seen: WireRequest[]): typeof fetch {
  return (input, init) => {
    const request = new Request(input, init);
    return request.text().then((text) => {
      seen.push({
        url: request.url,
        headers: Object.fromEntries(request.headers),
        body: JSON.parse(text),
      });
      return Response.json({ error: { message: "recorded" } }, { status: 400 });
    });
  };
}

Deno.test("openai adapter: the URL and credentials on the wire are the pinned SDK's, and nothing more", async () => {
  for (const baseUrl of ["http://upstream.test/v1", "http://upstream.test/v1/"]) {
    const sdkSeen: WireRequest[] = [];
    const sdk = new OpenAI({
      apiKey: KEY,
      baseURL: baseUrl,
      fetch: recordingFetch(sdkSeen),
      maxRetries: 0,
      organization: null,
      project: null,
    });
    await sdk.chat.completions.create({ model: "m", messages: [] }).catch(() => {});
    await sdk.embeddings.create({ model: "m", input: ["a"] }).catch(() => {});

    const seen: WireRequest[] = [];
    const adapter = createProviderAdapter({
      spec: specOf("openai"),
      apiKey: KEY,
      baseUrl,
      fetch: recordingFetch(seen),
      now: Date.now,
    });
    await rejection(adapter.chat(ask("hi"), opts("m")));
    await rejection(collect(adapter.stream(ask("hi"), opts("m"))));
    await rejection(adapter.embed!({ input: ["a"] }, opts("m")));

    assert.deepEqual(seen.map((r) => r.url), [sdkSeen[0].url, sdkSeen[0].url, sdkSeen[1].url]);
    assert.equal(seen[0].url, "http://upstream.test/v1/chat/completions");
    for (const request of seen) {
      assert.equal(request.headers.authorization, sdkSeen[0].headers.authorization);
      // Only what the protocol needs: no organization/project header reaches other providers.
      assert.deepEqual(request.headers, {
        accept: "application/json",
        authorization: `Bearer ${KEY}`,
        "content-type": "application/json",
      });
    }
  }
});

/** An adapter for `provider` whose every call gets `status` with `body` and `headers`. */
function failingAdapter(
  provider: string,
  status: number,
  body: string,
  headers: Record<string, string> = {},
  apiKey = KEY,
): ProviderAdapter {
  return createProviderAdapter({
    spec: specOf(provider),
    apiKey,
    baseUrl: "http://canned.invalid/v1",
    fetch: () => Promise.resolve(new Response(body, { status, headers })),
    now: Date.now,
  });
}

Deno.test("openai adapter: retry-after-ms and retry-after reach the error", async () => {
  const limited = await rejection(
    failingAdapter("openai", 429, '{"error":{"message":"slow down"}}', {
      "retry-after-ms": "1500",
      "retry-after": "9",
    }).chat(ask("x"), opts()),
  );
  assert.equal(limited.code, "RATE_LIMIT");
  assert.equal(limited.retryAfterMs, 1500, "retry-after-ms wins over retry-after");

  const unavailable = await rejection(
    failingAdapter("openai", 503, "", { "retry-after": "3" }).chat(ask("x"), opts()),
  );
  assert.equal(unavailable.code, "PROVIDER_ERROR");
  assert.equal(unavailable.retryable, true);
  assert.equal(unavailable.retryAfterMs, 3000);
});

Deno.test("openai adapter: an error body that is not JSON classifies by its status", async () => {
  const gateway = await rejection(
    failingAdapter("openai", 502, "<html>Bad Gateway</html>", { "content-type": "text/html" })
      .chat(ask("x"), opts()),
  );
  assert.equal(gateway.code, "PROVIDER_ERROR");
  assert.equal(gateway.retryable, true);
  assert.equal(gateway.upstreamStatus, 502);
  assert.match(gateway.message, /Bad Gateway/);

  // Self-hosted servers (Ollama) put the message in `error` as plain text.
  const missing = await rejection(
    failingAdapter("openai", 404, '{"error":"model \\"llama9\\" not found"}').chat(
      ask("x"),
      opts(),
    ),
  );
  assert.equal(missing.code, "PROVIDER_ERROR");
  assert.equal(missing.fallback, true);
  assert.match(missing.message, /model "llama9" not found/);
});

Deno.test("openai adapter: a key of no known shape echoed in an error body is scrubbed", async () => {
  const key = "acme-live-7f3a9c2e41b8d6f0";
  const echo = `key ${key} (or ${encodeURIComponent(key)}, ${btoa(key)}) is not allowed here`;
  const error = await rejection(
    failingAdapter("openai", 400, JSON.stringify({ error: { message: echo } }), {}, key)
      .chat(ask("x"), opts()),
  );
  assert.equal(error.code, "PROVIDER_ERROR");
  assert.match(error.message, /is not allowed here/);
  assert.equal(error.message.includes(key), false);
  assert.equal(error.message.includes(btoa(key).slice(2, -2)), false);
});

Deno.test("openai adapter: stream: events read together with a broken one still arrive first", async () => {
  const adapter = cannedAdapter("openai", () =>
    new Response(
      // One read of the body: a good chunk, then one that is not JSON.
      `data: ${JSON.stringify(chunkOf({ content: "Hi" }))}\n\ndata: {"choices": [\n\n`,
      { headers: { "content-type": "text/event-stream" } },
    ));
  const { error, seen } = await failedStream(adapter.stream(ask("x"), opts("m")));
  assert.deepEqual(seen.map((e) => e.type), ["start", "text-delta"]);
  assert.equal(error.code, "PROVIDER_ERROR");
  assert.equal(error.retryable, true);
});

Deno.test("openai adapter: stream: nothing after [DONE] is read", async () => {
  const adapter = cannedAdapter("openai", () =>
    new Response(
      `data: ${JSON.stringify(chunkOf({ content: "Hi" }, "stop"))}\n\ndata: [DONE]\n\n` +
        `data: ${JSON.stringify(chunkOf({ content: " again" }))}\n\ndata: not json\n\n`,
      { headers: { "content-type": "text/event-stream" } },
    ));
  const events = await collect(adapter.stream(ask("x"), opts("m")));
  assert.deepEqual(events.map((e) => e.type), ["start", "text-delta", "finish"]);
});
