/**
 * The AI SDK's default OpenAI model (`createOpenAI({ baseURL, apiKey })("gpt-4o-mini")`),
 * which speaks the Responses API, against llm-router: `generateText`,
 * `streamText`, a tool loop (function_call → function_call_output) served by
 * an OpenAI-compatible model and by Claude, and structured output.
 *
 * The gateway keeps no responses, so a client that references earlier output
 * by id must send it instead: the AI SDK does with `store: false`, and without
 * it gets a 400 that says so.
 */
import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, generateText, jsonSchema, Output, stepCountIs, streamText, tool } from "ai";
import { type RouterHttpWorld, routerHttpWorld } from "./helpers/router-http-world.ts";

/** The provider pointed at `world`, recording the paths it called. */
function openaiAt(world: RouterHttpWorld) {
  const paths: string[] = [];
  const provider = createOpenAI({
    baseURL: `${world.url}/v1`,
    apiKey: world.memberToken,
    fetch: (input, init) => {
      paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      return fetch(input, init);
    },
  });
  return { provider, paths };
}

async function withWorld(fn: (world: RouterHttpWorld) => Promise<void>) {
  const world = await routerHttpWorld();
  try {
    await fn(world);
  } finally {
    await world.close();
  }
}

const getWeather = tool({
  description: "The weather in a city",
  inputSchema: jsonSchema<{ city: string }>({
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  }),
  execute: ({ city }) => Promise.resolve({ city, celsius: 12 }),
});

Deno.test("ai sdk openai: generateText on the default model goes through /v1/responses", async () => {
  await withWorld(async (world) => {
    const { provider, paths } = openaiAt(world);
    const result = await generateText({ model: provider("gpt-4o-mini"), prompt: "Hello gateway" });
    assert.deepEqual(paths, ["/functions/v1/llm-router/v1/responses"]);
    assert.match(result.text, /^Mock reply to: Hello gateway/);
    assert.equal(result.finishReason, "stop");
    assert.equal(result.usage.outputTokens, 20);
    assert.ok(result.usage.inputTokens! > 0);
  });
});

Deno.test("ai sdk openai: streamText streams the answer and its usage", async () => {
  await withWorld(async (world) => {
    const { provider } = openaiAt(world);
    const whole = await generateText({ model: provider("gpt-4o-mini"), prompt: "Stream it" });
    const result = streamText({ model: provider("gpt-4o-mini"), prompt: "Stream it" });
    let text = "";
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, whole.text);
    assert.equal(await result.finishReason, "stop");
    assert.equal((await result.usage).outputTokens, 20);
  });
});

for (const model of ["gpt-4o-mini", "claude-haiku-4-5"]) {
  Deno.test(`ai sdk openai (${model}): a tool loop calls the tool and answers its result`, async () => {
    await withWorld(async (world) => {
      const { provider } = openaiAt(world);
      const result = await generateText({
        model: provider(model),
        prompt: "call get_weather for Oslo",
        tools: { get_weather: getWeather },
        stopWhen: stepCountIs(3),
        providerOptions: { openai: { store: false } },
      });
      assert.equal(result.steps.length, 2);
      assert.deepEqual(result.steps[0].toolCalls.map((c) => c.toolName), ["get_weather"]);
      assert.ok(result.text.length > 0);
      // The second turn carried the call and its output to the provider.
      const sent = JSON.stringify(world.mock.requests.at(-1)!.body);
      assert.ok(sent.includes("celsius"), sent);
    });
  });

  Deno.test(`ai sdk openai (${model}): structured output parses as the schema's shape`, async () => {
    await withWorld(async (world) => {
      const { provider } = openaiAt(world);
      const result = await generateText({
        model: provider(model),
        prompt: "Describe Oslo",
        output: Output.object({
          schema: jsonSchema<{ city: string; population: number }>({
            type: "object",
            properties: { city: { type: "string" }, population: { type: "integer" } },
            required: ["city", "population"],
            additionalProperties: false,
          }),
        }),
      });
      assert.equal(typeof result.output.city, "string");
      assert.ok(Number.isInteger(result.output.population));
    });
  });
}

Deno.test("ai sdk openai: with store left on, a turn referenced by id is a 400 saying to send it (store: false)", async () => {
  await withWorld(async (world) => {
    const { provider } = openaiAt(world);
    // Claude's turn has text before its call: the SDK refers to that text by its item id.
    const error = await generateText({
      model: provider("claude-haiku-4-5"),
      prompt: "call get_weather for Oslo",
      tools: { get_weather: getWeather },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    }).then(() => undefined, (e) => e);
    assert.ok(APICallError.isInstance(error), String(error));
    assert.equal(error.statusCode, 400);
    assert.match(error.message, /store: false/);
  });
});
