/**
 * The mock provider's Anthropic Messages protocol, driven through the official
 * `@anthropic-ai/sdk` so that what the mock sends is what the SDK parses.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { startMockProvider } from "../scripts/mock-provider.ts";

type Mock = Awaited<ReturnType<typeof startMockProvider>>;

async function withMock(fn: (client: Anthropic, mock: Mock) => Promise<void>) {
  const mock = await startMockProvider();
  const client = new Anthropic({
    apiKey: "sk-ant-test-mock",
    baseURL: mock.anthropicBaseUrl,
    maxRetries: 0,
  });
  try {
    await fn(client, mock);
  } finally {
    await mock.close();
  }
}

const weather: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const time: Anthropic.Tool = {
  name: "get_time",
  input_schema: { type: "object", properties: { zone: { type: "string" } } },
};

Deno.test("anthropic sdk: a JSON message with text and usage", async () => {
  await withMock(async (client) => {
    const message = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 100,
      system: "Be brief.",
      messages: [{ role: "user", content: "Hello Claude" }],
    });
    assert.equal(message.role, "assistant");
    assert.equal(message.stop_reason, "end_turn");
    assert.equal(message.content[0].type, "text");
    assert.match((message.content[0] as Anthropic.TextBlock).text, /^Mock reply to: Hello Claude/);
    assert.equal(message.usage.output_tokens, 20);
    assert.ok(message.usage.input_tokens > 0);
  });
});

Deno.test("anthropic sdk: the stream carries every event type and assembles the final message", async () => {
  await withMock(async (client) => {
    const stream = client.messages.stream({
      model: "claude-sonnet-4-6",
      max_tokens: 100,
      messages: [{ role: "user", content: "Stream it" }],
    });
    const types = new Set<string>();
    let text = "";
    for await (const event of stream) {
      types.add(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
        text += event.delta.text;
      }
    }
    const final = await stream.finalMessage();
    assert.deepEqual(
      [...types].sort(),
      [
        "content_block_delta",
        "content_block_start",
        "content_block_stop",
        "message_delta",
        "message_start",
        "message_stop",
      ],
    );
    assert.equal(text.split(" ").length, 20);
    assert.equal(final.stop_reason, "end_turn");
    assert.equal(final.usage.output_tokens, 20);
  });
});

Deno.test("anthropic sdk: max_tokens below the reply stops with max_tokens", async () => {
  await withMock(async (client) => {
    const message = await client.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 4,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(message.stop_reason, "max_tokens");
  });
});

Deno.test("anthropic sdk: tool use, streamed as input_json_delta, parallel unless disabled", async () => {
  await withMock(async (client) => {
    const stream = client.messages.stream({
      model: "claude-sonnet-4-6",
      max_tokens: 200,
      tools: [weather, time],
      messages: [{ role: "user", content: "call get_weather and get_time" }],
    });
    let partialJson = "";
    for await (const event of stream) {
      if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") {
        partialJson += event.delta.partial_json;
      }
    }
    const final = await stream.finalMessage();
    assert.equal(final.stop_reason, "tool_use");
    const uses = final.content.filter((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
    assert.deepEqual(uses.map((u) => u.name), ["get_weather", "get_time"]);
    assert.deepEqual(uses[0].input, { city: "sample-city" });
    assert.equal(
      partialJson,
      JSON.stringify({ city: "sample-city" }) + JSON.stringify({ zone: "sample-zone" }),
    );

    const single = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 200,
      tools: [weather, time],
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
      messages: [{ role: "user", content: "call get_weather and get_time" }],
    });
    assert.equal(single.content.filter((b) => b.type === "tool_use").length, 1);

    const forced = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 200,
      tools: [weather, time],
      tool_choice: { type: "tool", name: "get_time" },
      messages: [{ role: "user", content: "anything" }],
    });
    assert.equal(
      (forced.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock).name,
      "get_time",
    );

    const answered = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 200,
      tools: [weather],
      messages: [
        { role: "user", content: "get_weather in Oslo" },
        {
          role: "assistant",
          content: [{
            type: "tool_use",
            id: "toolu_1",
            name: "get_weather",
            input: { city: "Oslo" },
          }],
        },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "rain" }],
        },
      ],
    });
    assert.equal(answered.stop_reason, "end_turn");
  });
});

Deno.test("anthropic sdk: cache_control prefix is written once, then read", async () => {
  await withMock(async (client) => {
    const request = {
      model: "claude-sonnet-4-6",
      max_tokens: 50,
      system: [{
        type: "text" as const,
        text: "policy ".repeat(500),
        cache_control: { type: "ephemeral" as const },
      }],
      messages: [{ role: "user" as const, content: "q" }],
    };
    const first = await client.messages.create(request);
    const second = await client.messages.create(request);
    assert.ok(first.usage.cache_creation_input_tokens! > 0);
    assert.equal(first.usage.cache_read_input_tokens, 0);
    assert.equal(second.usage.cache_creation_input_tokens, 0);
    assert.equal(second.usage.cache_read_input_tokens, first.usage.cache_creation_input_tokens);
  });
});

Deno.test("anthropic sdk: 529 overloaded and 429 with retry-after are typed errors", async () => {
  await withMock(async (client) => {
    const call = (fault: string) =>
      client.messages.create(
        { model: "claude-sonnet-4-6", max_tokens: 10, messages: [{ role: "user", content: "x" }] },
        { headers: { "x-mock-fault": fault } },
      );
    await assert.rejects(call("status=529"), (error: unknown) => {
      assert.ok(error instanceof Anthropic.APIError);
      assert.equal(error.status, 529);
      assert.match(error.message, /overloaded_error/);
      return true;
    });
    await assert.rejects(call("status=429,retry-after=3"), (error: unknown) => {
      assert.ok(error instanceof Anthropic.RateLimitError);
      assert.equal(error.headers?.get("retry-after"), "3");
      return true;
    });
    await assert.rejects(call("status=400,code=context_length_exceeded"), /prompt is too long/);
  });
});

Deno.test("anthropic sdk: an error event mid-stream surfaces as an APIError", async () => {
  await withMock(async (client, mock) => {
    const stream = client.messages.stream(
      { model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "x" }] },
      { headers: { "x-mock-fault": "error-event=4" } },
    );
    let deltas = 0;
    await assert.rejects(async () => {
      for await (const event of stream) if (event.type === "content_block_delta") deltas++;
    }, (error: unknown) => error instanceof Anthropic.APIError && /Overloaded/.test(error.message));
    assert.equal(deltas, 1);
    assert.equal(mock.requests[0].outcome, "error-event");
  });
});

Deno.test("anthropic sdk: missing max_tokens is a 400 from the mock, as from Anthropic", async () => {
  const mock = await startMockProvider();
  try {
    const res = await fetch(`${mock.url}/v1/messages`, {
      method: "POST",
      headers: {
        "x-api-key": "k",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-6",
        messages: [{ role: "user", content: "x" }],
      }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.type, "error");
    assert.equal(body.error.type, "invalid_request_error");
  } finally {
    await mock.close();
  }
});

Deno.test("anthropic sdk: thinking enabled answers a signed thinking block first, JSON and stream alike", async () => {
  await withMock(async (client) => {
    const request = {
      model: "claude-sonnet-4-6",
      max_tokens: 4_000,
      thinking: { type: "enabled" as const, budget_tokens: 1_024 },
      messages: [{ role: "user" as const, content: "Why is the sky blue" }],
    };
    const message = await client.messages.create(request);
    assert.deepEqual(message.content.map((b) => b.type), ["thinking", "text"]);
    const thinking = message.content[0] as Anthropic.ThinkingBlock;
    assert.match(thinking.thinking, /^Thinking about: Why is the sky blue/);
    assert.match(thinking.signature, /^sig_mock_[0-9a-f]{8}$/);
    const thinkingTokens = message.usage.output_tokens_details!.thinking_tokens;
    assert.ok(thinkingTokens > 0);
    assert.equal(message.usage.output_tokens, 20 + thinkingTokens);

    const streamed = await client.messages.stream(request).finalMessage();
    assert.deepEqual(streamed.content[0], thinking);
    assert.deepEqual(streamed.usage.output_tokens_details, message.usage.output_tokens_details);
    assert.equal(streamed.usage.output_tokens, message.usage.output_tokens);
  });
});

Deno.test("anthropic sdk: a thinking block sent back changed is a 400; unchanged it is accepted", async () => {
  await withMock(async (client) => {
    const first = await client.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 4_000,
      thinking: { type: "enabled", budget_tokens: 1_024 },
      messages: [{ role: "user", content: "hi" }],
    });
    const thinking = first.content[0] as Anthropic.ThinkingBlock;
    const followUp = (block: Anthropic.ThinkingBlockParam) =>
      client.messages.create({
        model: "claude-sonnet-4-6",
        max_tokens: 4_000,
        thinking: { type: "enabled", budget_tokens: 1_024 },
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: [block, { type: "text", text: "hello" }] },
          { role: "user", content: "again" },
        ],
      });
    const ok = await followUp({
      type: "thinking",
      thinking: thinking.thinking,
      signature: thinking.signature,
    });
    assert.equal(ok.stop_reason, "end_turn");
    const error = await followUp({
      type: "thinking",
      thinking: thinking.thinking + "!",
      signature: thinking.signature,
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof Anthropic.BadRequestError);
    assert.match(error.message, /messages\.1\.content\.0: Invalid `signature`/);
  });
});

Deno.test("anthropic sdk: thinking is checked as Anthropic checks it: budget floor, below max_tokens, no forced tool", async () => {
  await withMock(async (client) => {
    const call = (thinking: Anthropic.ThinkingConfigParam, extra: Record<string, unknown> = {}) =>
      client.messages.create({
        model: "claude-sonnet-4-6",
        max_tokens: 2_000,
        thinking,
        messages: [{ role: "user", content: "hi" }],
        ...extra,
      }).then(() => "ok", (e) => (e as Error).message);
    assert.match(
      await call({ type: "enabled", budget_tokens: 500 }),
      /greater than or equal to 1024/,
    );
    assert.match(await call({ type: "enabled", budget_tokens: 2_000 }), /max_tokens/);
    assert.match(
      await call({ type: "enabled", budget_tokens: 1_024 }, {
        tools: [weather],
        tool_choice: { type: "any" },
      }),
      /tool_choice forces tool use/,
    );
    assert.equal(await call({ type: "disabled" }), "ok");
  });
});

Deno.test("anthropic sdk: output_config.format answers JSON of the schema; a bad effort is a 400", async () => {
  await withMock(async (client, mock) => {
    const schema = {
      type: "object",
      properties: { name: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
      required: ["name", "tags"],
      additionalProperties: false,
    };
    const message = await client.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 200,
      output_config: { format: { type: "json_schema", schema }, effort: "low" },
      messages: [{ role: "user", content: "describe" }],
    });
    const text = (message.content[0] as Anthropic.TextBlock).text;
    assert.deepEqual(JSON.parse(text), { name: "sample-name", tags: ["sample-tags"] });
    assert.deepEqual((mock.requests[0].body as { output_config: unknown }).output_config, {
      format: { type: "json_schema", schema },
      effort: "low",
    });
    const bad = await client.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 200,
      // @ts-expect-error: not an effort level
      output_config: { effort: "extreme" },
      messages: [{ role: "user", content: "describe" }],
    }).then(() => undefined, (e) => e);
    assert.ok(bad instanceof Anthropic.BadRequestError);
  });
});

Deno.test("anthropic sdk: a top-level cache_control caches the whole prompt", async () => {
  await withMock(async (client) => {
    const request = {
      model: "claude-sonnet-4-6",
      max_tokens: 50,
      cache_control: { type: "ephemeral" as const },
      system: "policy ".repeat(500),
      messages: [{ role: "user" as const, content: "q" }],
    };
    const first = await client.messages.create(request);
    const second = await client.messages.create(request);
    assert.ok(first.usage.cache_creation_input_tokens! > 0);
    assert.equal(second.usage.cache_read_input_tokens, first.usage.cache_creation_input_tokens);
  });
});
