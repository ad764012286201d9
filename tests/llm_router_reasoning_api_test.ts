/**
 * Reasoning, warnings and skipped targets as callers of the native and chat
 * completions APIs see them, over HTTP through the real adapters and the
 * mock: reasoning in, reasoning text and tokens out (JSON and stream), and
 * the `x-llm-warnings` / `x-llm-skipped` headers.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { readSse } from "./helpers/sse.ts";
import { type RouterHttpWorld, routerHttpWorld } from "./helpers/router-http-world.ts";

/** A catalog model that cannot guarantee a JSON schema (and has no tools to force). */
const PLAIN_MODEL = JSON.stringify([{
  id: "plain-model",
  provider: "openai",
  contextWindow: 32_000,
  maxOutputTokens: 4_096,
  prices: { input: 1, output: 1 },
  capabilities: { chat: true, tools: false, vision: false, json: true, embeddings: false },
  tokenizer: "o200k",
}]);

async function withWorld(fn: (world: RouterHttpWorld) => Promise<void>) {
  const world = await routerHttpWorld({ LLM_MODELS: PLAIN_MODEL });
  try {
    await fn(world);
  } finally {
    await world.close();
  }
}

const schemaFormat = {
  type: "json_schema",
  json_schema: {
    name: "answer",
    schema: {
      type: "object",
      properties: { answer: { type: "string" } },
      required: ["answer"],
      additionalProperties: false,
    },
  },
};

Deno.test("native: reasoning asked of Claude comes back as reasoning text and reasoning tokens", async () => {
  await withWorld(async (world) => {
    const response = await world.post("", {
      prompt: "Why is the sea salty",
      modelOverride: "claude-haiku-4-5",
      reasoning: { effort: "low" },
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.match(body.reasoning, /^Thinking about: Why is the sea salty/);
    assert.ok(body.usage.reasoningTokens > 0);
    assert.equal(body.usage.outputTokens, 20 + body.usage.reasoningTokens);
    assert.deepEqual((world.mock.requests[0].body as { thinking: unknown }).thinking, {
      type: "enabled",
      budget_tokens: 2_048,
    });
    assert.equal(response.headers.get("x-llm-warnings"), null);
  });
});

Deno.test("native: streamed, reasoning events come before the text and say what the JSON answer says", async () => {
  await withWorld(async (world) => {
    const ask = {
      prompt: "Why is the sea salty",
      modelOverride: "claude-haiku-4-5",
      reasoning: { budgetTokens: 1_500 },
    };
    const json = await (await world.post("", ask)).json();
    const response = await world.post("", { ...ask, stream: true });
    const events = (await readSse(response))
      .filter((e) => e.data !== "[DONE]")
      .map((e) => JSON.parse(e.data));
    const types = events.map((e) => e.type);
    assert.ok(types.lastIndexOf("reasoning") < types.indexOf("text"));
    const reasoning = events.filter((e) => e.type === "reasoning").map((e) => e.text).join("");
    assert.equal(reasoning, json.reasoning);
    const finish = events.at(-1);
    assert.equal(finish.type, "finish");
    assert.deepEqual(finish.usage, json.usage);
    assert.equal(finish.costUsd, json.costUsd);
  });
});

Deno.test("native: reasoning a model cannot take is dropped with an x-llm-warnings header, JSON and stream", async () => {
  await withWorld(async (world) => {
    const ask = { prompt: "hi", modelOverride: "gpt-4o-mini", reasoning: { effort: "high" } };
    const response = await world.post("", ask);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(
      response.headers.get("x-llm-warnings"),
      "reasoning ignored: gpt-4o-mini has no reasoning control",
    );
    assert.equal("reasoning_effort" in (world.mock.requests[0].body as object), false);

    const streamed = await world.post("", { ...ask, stream: true });
    assert.equal(
      streamed.headers.get("x-llm-warnings"),
      "reasoning ignored: gpt-4o-mini has no reasoning control",
    );
    await streamed.body?.cancel();
  });
});

Deno.test("native: a target that cannot guarantee the schema is skipped and named in x-llm-skipped", async () => {
  await withWorld(async (world) => {
    const response = await world.post("", {
      prompt: "answer in JSON",
      modelOverride: "plain-model",
      responseFormat: schemaFormat,
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(JSON.parse(body.text), { answer: "sample-answer" });
    assert.equal(response.headers.get("x-llm-model"), "gpt-4o-mini");
    assert.equal(response.headers.get("x-llm-skipped"), "plain-model=no-structured-output");
    assert.ok(world.mock.requests.every((r) => r.model !== "plain-model"));
  });
});

Deno.test("native: a reasoning budget that is not a positive integer is a 400 naming the field, with no upstream call", async () => {
  await withWorld(async (world) => {
    const response = await world.post("", { prompt: "hi", reasoning: { budgetTokens: 0 } });
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.error.code, "VALIDATION_ERROR");
    assert.match(body.error.field, /^reasoning/);
    assert.equal(world.mock.requests.length, 0);
  });
});

async function withSdk(fn: (client: OpenAI, world: RouterHttpWorld) => Promise<void>) {
  await withWorld(async (world) => {
    const client = new OpenAI({
      apiKey: world.memberToken,
      baseURL: `${world.url}/v1`,
      maxRetries: 0,
    });
    await fn(client, world);
  });
}

Deno.test("openai sdk → router: reasoning_effort reaches o4-mini; reasoning tokens come back in usage, JSON and stream", async () => {
  await withSdk(async (client, world) => {
    const completion = await client.chat.completions.create({
      model: "o4-mini",
      messages: [{ role: "user", content: "plan it" }],
      reasoning_effort: "high",
    });
    assert.equal(
      (world.mock.requests[0].body as { reasoning_effort: string }).reasoning_effort,
      "high",
    );
    assert.equal(completion.usage!.completion_tokens_details!.reasoning_tokens, 256);
    assert.equal(completion.usage!.completion_tokens, 20 + 256);

    const stream = await client.chat.completions.create({
      model: "o4-mini",
      messages: [{ role: "user", content: "plan it" }],
      reasoning_effort: "high",
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    assert.deepEqual(usage, completion.usage);
  });
});

/** A message or delta with the reasoning text DeepSeek and OpenRouter add. */
type WithReasoning = { reasoning_content?: string };

Deno.test("openai sdk → router: Claude's thinking comes back as reasoning_content, JSON and stream", async () => {
  await withSdk(async (client) => {
    const request = {
      model: "claude-haiku-4-5",
      messages: [{ role: "user" as const, content: "Why is the sky blue" }],
      reasoning_effort: "low" as const,
    };
    const completion = await client.chat.completions.create(request);
    const message = completion.choices[0].message as
      & typeof completion.choices[0]["message"]
      & WithReasoning;
    assert.match(message.reasoning_content!, /^Thinking about: Why is the sky blue/);
    assert.match(message.content!, /^Mock reply to: Why is the sky blue/);

    const stream = await client.chat.completions.create({ ...request, stream: true });
    let reasoning = "";
    let text = "";
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as
        & OpenAI.ChatCompletionChunk.Choice.Delta
        & WithReasoning;
      if (delta?.reasoning_content) {
        assert.equal(text, "", "reasoning comes before the answer");
        reasoning += delta.reasoning_content;
      }
      text += delta?.content ?? "";
    }
    assert.equal(reasoning, message.reasoning_content);
    assert.equal(text, message.content);
  });
});

Deno.test("openai sdk → router: an unknown reasoning_effort is a 400 naming the parameter, with no upstream call", async () => {
  await withSdk(async (client, world) => {
    const error = await client.chat.completions.create({
      model: "o4-mini",
      messages: [{ role: "user", content: "hi" }],
      // @ts-expect-error: not an effort level
      reasoning_effort: "extreme",
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.param, "reasoning_effort");
    assert.equal(world.mock.requests.length, 0);
  });
});
