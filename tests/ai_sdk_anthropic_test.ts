/**
 * The AI SDK's Anthropic provider (`createAnthropic({ baseURL, apiKey })`),
 * which speaks the Messages API, against llm-router: `generateText` and
 * `streamText`, a tool loop served by an OpenAI-compatible model and by
 * Claude, structured output, and Claude's thinking with its signature
 * carried through the loop.
 */
import assert from "node:assert/strict";
import { createAnthropic } from "@ai-sdk/anthropic";
import { generateText, jsonSchema, Output, stepCountIs, streamText, tool } from "ai";
import { type RouterHttpWorld, routerHttpWorld } from "./helpers/router-http-world.ts";

/** The provider pointed at `world`, recording the paths it called. */
function anthropicAt(world: RouterHttpWorld) {
  const paths: string[] = [];
  const provider = createAnthropic({
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
  }),
  execute: ({ city }) => Promise.resolve({ city, celsius: 12 }),
});

Deno.test("ai sdk anthropic: generateText and streamText go through /v1/messages and agree", async () => {
  await withWorld(async (world) => {
    const { provider, paths } = anthropicAt(world);
    const whole = await generateText({ model: provider("claude-haiku-4-5"), prompt: "Hello" });
    assert.deepEqual(paths, ["/functions/v1/llm-router/v1/messages"]);
    assert.match(whole.text, /^Mock reply to: Hello/);
    assert.equal(whole.finishReason, "stop");
    assert.equal(whole.usage.outputTokens, 20);

    const result = streamText({ model: provider("claude-haiku-4-5"), prompt: "Hello" });
    let text = "";
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, whole.text);
    assert.equal(await result.finishReason, "stop");
    assert.equal((await result.usage).outputTokens, 20);
  });
});

for (const model of ["gpt-4o-mini", "claude-haiku-4-5"]) {
  Deno.test(`ai sdk anthropic (${model}): a tool loop calls the tool and answers its result`, async () => {
    await withWorld(async (world) => {
      const { provider } = anthropicAt(world);
      const result = await generateText({
        model: provider(model),
        prompt: "call get_weather for Oslo",
        tools: { get_weather: getWeather },
        stopWhen: stepCountIs(3),
        // The SDK knows Claude's output limits only; a gateway model needs its own.
        maxOutputTokens: 500,
      });
      assert.equal(result.steps.length, 2);
      assert.deepEqual(result.steps[0].toolCalls.map((c) => c.toolName), ["get_weather"]);
      assert.deepEqual(result.steps[0].toolCalls[0].input, { city: "sample-city" });
      assert.ok(result.text.length > 0);
      const sent = JSON.stringify(world.mock.requests.at(-1)!.body);
      assert.ok(sent.includes("celsius"), sent);
    });
  });

  Deno.test(`ai sdk anthropic (${model}): structured output parses as the schema's shape`, async () => {
    await withWorld(async (world) => {
      const { provider } = anthropicAt(world);
      const result = await generateText({
        model: provider(model),
        prompt: "Describe Oslo",
        maxOutputTokens: 500,
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

Deno.test("ai sdk anthropic: Claude's thinking comes back, and goes back signed through a tool loop", async () => {
  await withWorld(async (world) => {
    const { provider } = anthropicAt(world);
    const result = await generateText({
      model: provider("claude-sonnet-4-6"),
      prompt: "call get_weather for Oslo",
      tools: { get_weather: getWeather },
      stopWhen: stepCountIs(3),
      maxOutputTokens: 4000,
      providerOptions: { anthropic: { thinking: { type: "enabled", budgetTokens: 1024 } } },
    });
    assert.equal(result.steps.length, 2);
    assert.match(result.steps[0].reasoningText ?? "", /^Thinking about: call get_weather/);
    // The mock answers 400 to a thinking block sent back changed or unsigned: the loop's second
    // call carried it intact.
    const second = world.mock.requests.at(-1)!.body as {
      messages: { role: string; content: { type: string; signature?: string }[] }[];
    };
    const thinking = second.messages.flatMap((m) => Array.isArray(m.content) ? m.content : [])
      .filter((b) => b.type === "thinking");
    assert.equal(thinking.length, 1);
    assert.match(thinking[0].signature ?? "", /^sig_mock_/);
  });
});
