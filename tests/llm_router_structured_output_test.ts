/**
 * Structured output per target, through the real adapters to the mock: a
 * JSON schema reaches each provider in its native form (OpenAI
 * `response_format`, Anthropic `output_config.format`), or as a forced tool
 * call whose arguments come back as the content (JSON and stream alike), and
 * a model that cannot guarantee a schema is skipped with a typed reason.
 */
import assert from "node:assert/strict";
import { type MockProvider, startMockProvider } from "../scripts/mock-provider.ts";
import { costOf } from "../supabase/functions/_shared/llm/catalog.ts";
import { createProviderAdapter } from "../supabase/functions/_shared/llm/providers/create-adapter.ts";
import type {
  LLMChatRequest,
  LLMResponseFormat,
  LLMStreamEvent,
} from "../supabase/functions/_shared/llm/types.ts";
import { never, routerWorld } from "./helpers/router-world.ts";

const schema = {
  type: "object",
  properties: {
    city: { type: "string" },
    celsius: { type: "number" },
    sunny: { type: "boolean" },
  },
  required: ["city", "celsius", "sunny"],
  additionalProperties: false,
};
const format: LLMResponseFormat = { type: "json_schema", name: "weather", schema };
const expected = { city: "sample-city", celsius: 1, sunny: true };

/** A router whose providers are all the mock (OpenAI protocol for every compatible one). */
function mockRouter(mock: MockProvider, chain: string[]) {
  return routerWorld((config) => {
    config.useCaseChains.general = chain;
    config.timeouts = { ...config.timeouts, requestMs: 30_000, firstEventMs: 30_000 };
    config.extraModels = [{
      id: "plain-model",
      provider: "openai",
      contextWindow: 32_000,
      maxOutputTokens: 4_096,
      prices: { input: 1, output: 1, cachedInput: 1, cacheWrite: 1 },
      capabilities: {
        chat: true,
        tools: false,
        vision: false,
        json: true,
        embeddings: false,
        structuredOutput: "none",
      },
      tokenizer: "o200k",
    }];
  }, {
    createAdapter: createProviderAdapter,
    keys: { openai: "sk-openai", anthropic: "sk-ant", deepseek: "sk-deepseek" },
    baseUrls: {
      openai: mock.openaiBaseUrl,
      deepseek: mock.openaiBaseUrl,
      anthropic: mock.anthropicBaseUrl,
    },
    sleep: () => Promise.resolve(),
  }).router;
}

const weatherRequest = (extra: Partial<LLMChatRequest> = {}): LLMChatRequest => ({
  messages: [{ role: "user", content: "weather in Paris" }],
  responseFormat: format,
  ...extra,
});

async function withMockRouter(
  chain: string[],
  fn: (mock: MockProvider, router: ReturnType<typeof mockRouter>) => Promise<void>,
) {
  const mock = await startMockProvider();
  try {
    await fn(mock, mockRouter(mock, chain));
  } finally {
    await mock.close();
  }
}

const lastBody = (mock: MockProvider) => mock.requests.at(-1)!.body as Record<string, unknown>;

Deno.test("structured output: a schema reaches OpenAI as response_format and Claude as output_config.format", async () => {
  await withMockRouter(["gpt-4o-mini"], async (mock, router) => {
    const openai = await router.chat({ chat: weatherRequest() }, never());
    assert.deepEqual(lastBody(mock).response_format, {
      type: "json_schema",
      json_schema: { name: "weather", schema },
    });
    assert.deepEqual(JSON.parse(openai.text), expected);

    const claude = await router.chat(
      { modelOverride: "claude-haiku-4-5", chat: weatherRequest() },
      never(),
    );
    const body = lastBody(mock);
    assert.deepEqual(body.output_config, { format: { type: "json_schema", schema } });
    // Never a prompt instruction: no system prompt at all.
    assert.equal(body.system, undefined);
    assert.deepEqual(JSON.parse(claude.text), expected);
    assert.equal(claude.finishReason, "stop");
  });
});

Deno.test("structured output: without a native one, a forced tool call carries the schema and its arguments are the answer", async () => {
  await withMockRouter(["deepseek-chat"], async (mock, router) => {
    const answer = await router.chat({ chat: weatherRequest() }, never());
    const body = lastBody(mock);
    assert.equal(mock.requests.at(-1)!.model, "deepseek-chat");
    assert.equal("response_format" in body, false);
    assert.deepEqual(body.tools, [{
      type: "function",
      function: {
        name: "json_output",
        description: "Give the final answer (weather) as this function's arguments.",
        parameters: schema,
      },
    }]);
    assert.deepEqual(body.tool_choice, { type: "function", function: { name: "json_output" } });
    // The caller sees what native structured output gives.
    assert.deepEqual(JSON.parse(answer.text), expected);
    assert.deepEqual(answer.toolCalls, []);
    assert.equal(answer.finishReason, "stop");
  });
});

Deno.test("structured output: streamed, the forced tool's arguments arrive as text deltas; usage and cost match the JSON answer", async () => {
  await withMockRouter(["deepseek-chat"], async (_mock, router) => {
    const json = await router.chat({ chat: weatherRequest() }, never());
    const stream = await router.stream({ chat: weatherRequest() }, never());
    const events: LLMStreamEvent[] = [];
    for await (const event of stream.events) events.push(event);
    assert.equal(events.some((e) => e.type === "tool-call-delta"), false);
    const deltas = events.filter((e) => e.type === "text-delta");
    assert.ok(deltas.length > 1, "the arguments stream in pieces");
    assert.deepEqual(
      JSON.parse(deltas.map((e) => e.type === "text-delta" ? e.text : "").join("")),
      expected,
    );
    const finish = events.at(-1)!;
    assert.equal(finish.type === "finish" && finish.finishReason, "stop");
    const end = await stream.completion;
    assert.ok(end.ok);
    assert.deepEqual(end.usage, json.usage);
    assert.equal(end.costUsd, json.costUsd);
    assert.equal(end.costUsd, costOf(router.catalog.get("deepseek-chat")!, json.usage));
  });
});

Deno.test("structured output: beside the caller's own tools the schema tool is one more; the caller's calls stay calls", async () => {
  await withMockRouter(["deepseek-chat"], async (mock, router) => {
    const weather = {
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    };
    const request = weatherRequest({
      messages: [{ role: "user", content: "call get_weather for Paris" }],
      tools: [weather],
    });
    const answer = await router.chat({ chat: request }, never());
    const body = lastBody(mock);
    assert.deepEqual(
      (body.tools as { function: { name: string } }[]).map((t) => t.function.name),
      ["get_weather", "json_output"],
    );
    assert.equal(body.tool_choice, "required");
    assert.deepEqual(answer.toolCalls.map((c) => c.name), ["get_weather"]);
    assert.equal(answer.finishReason, "tool_calls");

    const stream = await router.stream({ chat: request }, never());
    const calls: LLMStreamEvent[] = [];
    for await (const event of stream.events) {
      if (event.type === "tool-call-delta") calls.push(event);
    }
    assert.ok(calls.length > 0);
    assert.ok(calls.every((e) => e.type === "tool-call-delta" && e.index === 0));
  });
});

Deno.test("structured output: a model that cannot guarantee a schema is skipped with a typed reason the route names", async () => {
  await withMockRouter(["plain-model", "gpt-4o-mini"], async (mock, router) => {
    const answer = await router.chat({ chat: weatherRequest() }, never());
    assert.equal(answer.model, "gpt-4o-mini");
    assert.deepEqual(answer.route.skipped, [{
      model: "plain-model",
      reason: { kind: "missing-capability", capability: "structured-output" },
    }]);
    assert.ok(mock.requests.every((r) => r.model !== "plain-model"));

    // Without a schema the same model serves.
    const plain = await router.chat({
      chat: { messages: [{ role: "user", content: "hi" }] },
    }, never());
    assert.equal(plain.model, "plain-model");
    assert.equal(plain.route.skipped, undefined);
  });
});
