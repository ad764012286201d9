/**
 * llm-router's OpenAI-compatible API driven by the official `openai` SDK
 * with `baseURL` pointed at it: chat, streaming, tools, embeddings, models
 * and errors work unchanged, whichever provider serves.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { routerHttpWorld } from "./helpers/router-http-world.ts";

async function withSdk(
  fn: (client: OpenAI, world: Awaited<ReturnType<typeof routerHttpWorld>>) => Promise<void>,
) {
  const world = await routerHttpWorld();
  const client = new OpenAI({
    apiKey: world.memberToken,
    baseURL: `${world.url}/v1`,
    maxRetries: 0,
  });
  try {
    await fn(client, world);
  } finally {
    await world.close();
  }
}

const weather: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const clock: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_time",
    parameters: { type: "object", properties: { zone: { type: "string" } } },
  },
};

for (const model of ["gpt-4o-mini", "claude-haiku-4-5"]) {
  Deno.test(`openai sdk → router (${model}): a chat completion`, async () => {
    await withSdk(async (client) => {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: "system", content: "Be brief." }, {
          role: "user",
          content: "Hello gateway",
        }],
      });
      assert.equal(completion.object, "chat.completion");
      assert.equal(completion.model, model);
      assert.match(completion.choices[0].message.content!, /^Mock reply to: Hello gateway/);
      assert.equal(completion.choices[0].finish_reason, "stop");
      assert.equal(completion.usage!.completion_tokens, 20);
    });
  });

  Deno.test(`openai sdk → router (${model}): a stream with include_usage`, async () => {
    await withSdk(async (client) => {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Stream it" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.match(text, /^Mock reply to: Stream it/);
      assert.equal(finish, "stop");
      assert.equal(usage!.completion_tokens, 20);
    });
  });

  Deno.test(`openai sdk → router (${model}): parallel tool calls, streamed and not`, async () => {
    await withSdk(async (client) => {
      const request = {
        model,
        messages: [{ role: "user" as const, content: "call get_weather and get_time" }],
        tools: [weather, clock],
      };
      const whole = await client.chat.completions.create(request);
      const calls = whole.choices[0].message.tool_calls!;
      assert.equal(whole.choices[0].finish_reason, "tool_calls");
      assert.deepEqual(calls.map((c) => c.type === "function" && c.function.name), [
        "get_weather",
        "get_time",
      ]);

      const stream = await client.chat.completions.create({ ...request, stream: true });
      const assembled: { id?: string; name?: string; args: string }[] = [];
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
          assembled[delta.index] ??= { args: "" };
          if (delta.id) assembled[delta.index].id = delta.id;
          if (delta.function?.name) assembled[delta.index].name = delta.function.name;
          assembled[delta.index].args += delta.function?.arguments ?? "";
        }
      }
      assert.deepEqual(assembled.map((c) => c.name), ["get_weather", "get_time"]);
      assert.deepEqual(JSON.parse(assembled[0].args), { city: "sample-city" });
      assert.ok(assembled.every((c) => c.id));
    });
  });

  Deno.test(`openai sdk → router (${model}): a tool result round trip answers with text`, async () => {
    await withSdk(async (client) => {
      const completion = await client.chat.completions.create({
        model,
        tools: [weather],
        messages: [
          { role: "user", content: "get_weather in Oslo" },
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
        ],
      });
      assert.equal(completion.choices[0].finish_reason, "stop");
    });
  });
}

Deno.test("openai sdk → router: model auto and auto:<useCase> route by use case", async () => {
  await withSdk(async (client, world) => {
    const auto = await client.chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(auto.model, "gpt-4o-mini");
    const complex = await client.chat.completions.create({
      model: "auto:complex",
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(complex.model, "claude-sonnet-4-6");
    assert.equal(world.mock.requests.at(-1)!.path, "/v1/messages");
  });
});

Deno.test("openai sdk → router: embeddings, base64 (the SDK default) and float", async () => {
  await withSdk(async (client) => {
    const base64 = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["alpha", "beta"],
    });
    const float = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: ["alpha", "beta"],
      encoding_format: "float",
    });
    assert.equal(base64.data.length, 2);
    assert.equal(base64.data[0].embedding.length, 1536);
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs(base64.data[1].embedding[i] - float.data[1].embedding[i]) < 1e-6);
    }
    const auto = await client.embeddings.create({
      model: "auto",
      input: "x",
      dimensions: 8,
      encoding_format: "float",
    });
    assert.equal(auto.data[0].embedding.length, 8);
  });
});

Deno.test("openai sdk → router: models lists auto aliases and catalog models of configured providers", async () => {
  await withSdk(async (client) => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes("auto"));
    assert.ok(ids.includes("auto:complex"));
    assert.ok(ids.includes("gpt-4o-mini"));
    assert.ok(ids.includes("claude-haiku-4-5"));
    assert.ok(!ids.includes("mistral-large-latest"), "no Mistral key, so no Mistral models");
  });
});

Deno.test("openai sdk → router: errors arrive as the SDK's typed errors with the gateway's code", async () => {
  await withSdk(async (client, world) => {
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-99",
        messages: [{ role: "user", content: "x" }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.code, "VALIDATION_ERROR");
        assert.equal(error.param, "model");
        return true;
      },
    );
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-4o-mini", messages: [] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "messages",
    );
    const anonymous = new OpenAI({
      apiKey: "not-a-token",
      baseURL: `${world.url}/v1`,
      maxRetries: 0,
    });
    await assert.rejects(
      anonymous.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
      }),
      (error: unknown) =>
        error instanceof OpenAI.AuthenticationError && error.code === "AUTH_INVALID",
    );
    assert.equal(world.mock.requests.length, 0);
  });
});

Deno.test("openai sdk → router: unsupported n > 1 is a clear 400", async () => {
  await withSdk(async (client) => {
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4o-mini",
        n: 2,
        messages: [{ role: "user", content: "x" }],
      }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "n",
    );
  });
});
