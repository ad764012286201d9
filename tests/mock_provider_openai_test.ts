/**
 * The mock provider's OpenAI protocol, driven through the official `openai`
 * SDK so that what the mock sends is known to be what the SDK parses.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startMockProvider } from "../scripts/mock-provider.ts";

async function withMock(
  fn: (client: OpenAI, mock: Awaited<ReturnType<typeof startMockProvider>>) => Promise<void>,
) {
  const mock = await startMockProvider();
  const client = new OpenAI({ apiKey: "sk-test-mock", baseURL: mock.openaiBaseUrl, maxRetries: 0 });
  try {
    await fn(client, mock);
  } finally {
    await mock.close();
  }
}

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"],
    },
  },
};
const timeTool = {
  type: "function" as const,
  function: {
    name: "get_time",
    parameters: { type: "object", properties: { zone: { type: "string" } } },
  },
};

Deno.test("openai sdk: a JSON chat completion is deterministic and carries usage", async () => {
  await withMock(async (client) => {
    const ask = () =>
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Hello there" }],
      });
    const first = await ask();
    const second = await ask();
    assert.equal(first.choices[0].message.content, second.choices[0].message.content);
    assert.match(first.choices[0].message.content!, /^Mock reply to: Hello there/);
    assert.equal(first.choices[0].finish_reason, "stop");
    assert.equal(first.model, "gpt-4o-mini");
    assert.equal(first.usage!.completion_tokens, 20);
    assert.ok(first.usage!.prompt_tokens > 0);
  });
});

Deno.test("openai sdk: a stream yields one word per chunk, then finish, then the usage chunk", async () => {
  await withMock(async (client) => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Stream please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text.split(" ").length, 20);
    assert.equal(finish, "stop");
    assert.equal(usage!.completion_tokens, 20);
    assert.equal(chunks, 1 + 20 + 1 + 1);
  });
});

Deno.test("openai sdk: max_tokens below the reply length truncates with finish_reason length", async () => {
  await withMock(async (client) => {
    const res = await client.chat.completions.create({
      model: "gpt-4o-mini",
      max_tokens: 5,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(res.choices[0].finish_reason, "length");
    assert.equal(res.choices[0].message.content!.split(" ").length, 5);
  });
});

Deno.test("openai sdk: words=N sets the reply size", async () => {
  await withMock(async (client) => {
    const res = await client.chat.completions.create({
      model: "gpt-4o-mini::words=300",
      messages: [{ role: "user", content: "long" }],
    });
    assert.equal(res.choices[0].message.content!.split(" ").length, 300);
    assert.equal(res.model, "gpt-4o-mini");
  });
});

Deno.test("openai sdk: tool calls, named tool_choice, and parallel tool calls", async () => {
  await withMock(async (client) => {
    const single = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "What is get_weather in Paris?" }],
      tools: [weatherTool, timeTool],
    });
    assert.equal(single.choices[0].finish_reason, "tool_calls");
    const call = single.choices[0].message.tool_calls![0];
    assert.equal(call.type, "function");
    if (call.type !== "function") throw new Error("unreachable");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "sample-city", unit: "c" });

    const parallel = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Use get_weather and get_time" }],
      tools: [weatherTool, timeTool],
    });
    assert.equal(parallel.choices[0].message.tool_calls!.length, 2);

    const serial = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Use get_weather and get_time" }],
      tools: [weatherTool, timeTool],
      parallel_tool_calls: false,
    });
    assert.equal(serial.choices[0].message.tool_calls!.length, 1);

    const named = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "anything" }],
      tools: [weatherTool, timeTool],
      tool_choice: { type: "function", function: { name: "get_time" } },
    });
    const namedCall = named.choices[0].message.tool_calls![0];
    assert.equal(namedCall.type === "function" && namedCall.function.name, "get_time");

    const none = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "get_weather please" }],
      tools: [weatherTool],
      tool_choice: "none",
    });
    assert.equal(none.choices[0].message.tool_calls, undefined);

    const afterResult = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "user", content: "get_weather please" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: "{}" },
          }],
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
      tools: [weatherTool],
    });
    assert.equal(afterResult.choices[0].finish_reason, "stop");
  });
});

Deno.test("openai sdk: streamed parallel tool calls assemble into whole calls", async () => {
  await withMock(async (client) => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "get_weather and get_time" }],
      tools: [weatherTool, timeTool],
      stream: true,
    });
    const calls: { id?: string; name?: string; args: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
        calls[delta.index] ??= { args: "" };
        if (delta.id) calls[delta.index].id = delta.id;
        if (delta.function?.name) calls[delta.index].name = delta.function.name;
        calls[delta.index].args += delta.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, "tool_calls");
    assert.deepEqual(calls.map((c) => c.name), ["get_weather", "get_time"]);
    assert.deepEqual(JSON.parse(calls[0].args), { city: "sample-city", unit: "c" });
    assert.ok(calls.every((c) => c.id?.startsWith("call_mock_")));
  });
});

Deno.test("openai sdk: embeddings in float and base64 decode to the same unit vector", async () => {
  await withMock(async (client) => {
    const viaBase64 = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["one", "two"],
    });
    const viaFloat = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["one", "two"],
      encoding_format: "float",
    });
    assert.equal(viaBase64.data.length, 2);
    assert.equal(viaBase64.data[0].embedding.length, 1536);
    for (let i = 0; i < 5; i++) {
      assert.ok(Math.abs(viaBase64.data[0].embedding[i] - viaFloat.data[0].embedding[i]) < 1e-6);
    }
    const norm = Math.hypot(...viaFloat.data[0].embedding);
    assert.ok(Math.abs(norm - 1) < 1e-6);
    assert.notDeepEqual(
      viaFloat.data[0].embedding.slice(0, 4),
      viaFloat.data[1].embedding.slice(0, 4),
    );
    const small = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "x",
      dimensions: 8,
      encoding_format: "float",
    });
    assert.equal(small.data[0].embedding.length, 8);
  });
});

Deno.test("openai sdk: models list", async () => {
  await withMock(async (client) => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes("gpt-4o-mini"));
  });
});

Deno.test("openai sdk: injected status errors arrive as the SDK's typed errors", async () => {
  await withMock(async (client, mock) => {
    const call = (fault: string) =>
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
      }, { headers: { "x-mock-fault": fault } });
    await assert.rejects(call("status=429,retry-after=7"), (error: unknown) => {
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.headers?.get("retry-after"), "7");
      assert.equal(error.code, "rate_limit_exceeded");
      return true;
    });
    await assert.rejects(call("status=500"), OpenAI.InternalServerError);
    await assert.rejects(call("status=400,code=context_length_exceeded"), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.code, "context_length_exceeded");
      return true;
    });
    assert.deepEqual(mock.requests.map((r) => r.status), [429, 500, 400]);
  });
});

Deno.test("openai sdk: a key containing 'invalid' gets 401", async () => {
  const mock = await startMockProvider();
  try {
    const client = new OpenAI({
      apiKey: "sk-invalid-key",
      baseURL: mock.openaiBaseUrl,
      maxRetries: 0,
    });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
      }),
      OpenAI.AuthenticationError,
    );
  } finally {
    await mock.close();
  }
});

Deno.test("openai sdk: reset, hang and delay faults", async () => {
  await withMock(async (client, mock) => {
    const call = (fault: string, timeout?: number) =>
      client.chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] },
        { headers: { "x-mock-fault": fault }, ...(timeout ? { timeout } : {}) },
      );
    await assert.rejects(call("reset"), OpenAI.APIConnectionError);
    await assert.rejects(call("hang", 200), OpenAI.APIConnectionTimeoutError);
    const started = performance.now();
    await call("delay=150");
    assert.ok(performance.now() - started >= 140);
    assert.deepEqual(mock.requests.map((r) => r.outcome), ["reset", "aborted", "completed"]);
  });
});

Deno.test("openai sdk: stream faults: error event, malformed chunk, reset mid-stream, clean cut", async () => {
  await withMock(async (client, mock) => {
    const drain = async (fault: string) => {
      const stream = await client.chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], stream: true },
        { headers: { "x-mock-fault": fault } },
      );
      let chunks = 0;
      for await (const _ of stream) chunks++;
      return chunks;
    };
    await assert.rejects(drain("error-event=3"), OpenAI.APIError);
    await assert.rejects(drain("malformed=2"), SyntaxError);
    await assert.rejects(drain("reset-after=2"));
    // A clean cut looks like success to the SDK: only the missing finish_reason/[DONE] betrays it.
    assert.equal(await drain("cut=4"), 4);
    assert.equal(mock.requests[0].outcome, "error-event");
    assert.equal(mock.requests[2].outcome, "reset");
    assert.equal(mock.requests[3].outcome, "cut");
  });
});

Deno.test("openai sdk: times=N fails the first N requests only; queued faults apply in order", async () => {
  await withMock(async (client, mock) => {
    const call = (headers: Record<string, string> = {}) =>
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
      }, { headers });
    await assert.rejects(call({ "x-mock-fault": "status=503,times=2" }));
    await assert.rejects(call({ "x-mock-fault": "status=503,times=2" }));
    await call({ "x-mock-fault": "status=503,times=2" });
    mock.queueFault("status=502", 1);
    await assert.rejects(call(), OpenAI.InternalServerError);
    await call();
  });
});

Deno.test("openai sdk: client abort mid-stream is seen by the mock", async () => {
  await withMock(async (client, mock) => {
    const stream = await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }], stream: true },
      { headers: { "x-mock-fault": "chunk-delay=30" } },
    );
    for await (const _ of stream) break;
    for (let i = 0; i < 50 && mock.requests[0].outcome === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(mock.requests[0].outcome, "aborted");
    assert.ok(mock.requests[0].eventsSent < 10);
  });
});

Deno.test("openai sdk: a repeated long prefix reports cached prompt tokens", async () => {
  await withMock(async (client) => {
    const history = [{ role: "system" as const, content: "rules ".repeat(1200) }, {
      role: "user" as const,
      content: "first",
    }];
    const first = await client.chat.completions.create({ model: "gpt-4o-mini", messages: history });
    const second = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: history,
    });
    assert.equal(first.usage!.prompt_tokens_details!.cached_tokens, 0);
    assert.ok(second.usage!.prompt_tokens_details!.cached_tokens! >= 1024);
  });
});

Deno.test("mock provider: a bad fault spec is a 400 that names the directive", async () => {
  await withMock(async (client) => {
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4o-mini::explode=1",
        messages: [{ role: "user", content: "x" }],
      }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && /explode/.test(error.message),
    );
  });
});

Deno.test("openai sdk: reasoning_effort spends reasoning tokens inside the completion tokens, JSON and stream", async () => {
  await withMock(async (client) => {
    const request = {
      model: "o4-mini",
      messages: [{ role: "user" as const, content: "think" }],
      reasoning_effort: "low" as const,
    };
    const completion = await client.chat.completions.create(request);
    assert.equal(completion.usage!.completion_tokens_details!.reasoning_tokens, 16);
    assert.equal(completion.usage!.completion_tokens, 20 + 16);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    assert.deepEqual(usage, completion.usage);
  });
});

Deno.test("openai sdk: reasoning_effort is refused by a gpt-4 model and for an unknown level", async () => {
  await withMock(async (client) => {
    const call = (model: string, effort: string) =>
      client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
        reasoning_effort: effort as OpenAI.ReasoningEffort,
      }).then(() => undefined, (e) => e);
    const unsupported = await call("gpt-4o-mini", "low");
    assert.ok(unsupported instanceof OpenAI.BadRequestError);
    assert.equal(unsupported.code, "unsupported_parameter");
    const unknown = await call("o4-mini", "extreme");
    assert.equal(unknown.code, "invalid_value");
  });
});

Deno.test("openai sdk: a *reasoner* model returns reasoning_content before its answer, JSON and stream", async () => {
  await withMock(async (client) => {
    type WithReasoning = { reasoning_content?: string };
    const request = {
      model: "deepseek-reasoner",
      messages: [{ role: "user" as const, content: "Why" }],
    };
    const completion = await client.chat.completions.create(request);
    const message = completion.choices[0].message as OpenAI.ChatCompletionMessage & WithReasoning;
    assert.match(message.reasoning_content!, /^Thinking about: Why/);
    assert.ok(completion.usage!.completion_tokens_details!.reasoning_tokens! > 0);
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let reasoning = "";
    for await (const chunk of stream) {
      reasoning += (chunk.choices[0]?.delta as WithReasoning | undefined)?.reasoning_content ?? "";
    }
    assert.equal(reasoning, message.reasoning_content);
  });
});
