/**
 * llm-router's Responses API driven by the official `openai` SDK
 * (`responses.create`, `responses.stream`) with `baseURL` pointed at it:
 * text, tools with a function_call → function_call_output round trip, a JSON
 * schema, images, the token limit, reasoning, and errors, served by an
 * OpenAI-compatible model and by Claude alike.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import type { ResponseInputItem } from "openai/resources/responses/responses";
import { type RouterHttpWorld, routerHttpWorld } from "./helpers/router-http-world.ts";
import { readSse } from "./helpers/sse.ts";

async function withSdk(fn: (client: OpenAI, world: RouterHttpWorld) => Promise<void>) {
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

const weather: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};
const clock: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_time",
  parameters: { type: "object", properties: { zone: { type: "string" } } },
  strict: false,
};

const cityReport = {
  type: "json_schema" as const,
  name: "city_report",
  strict: true,
  schema: {
    type: "object",
    properties: {
      city: { type: "string" },
      population: { type: "integer" },
      coastal: { type: "boolean" },
      districts: { type: "array", items: { type: "string" } },
    },
    required: ["city", "population", "coastal", "districts"],
    additionalProperties: false,
  },
};

/** Whether `value` has the city_report schema's shape. */
function assertCityReport(value: unknown) {
  const report = value as Record<string, unknown>;
  assert.equal(typeof report, "object");
  assert.deepEqual(Object.keys(report).sort(), ["city", "coastal", "districts", "population"]);
  assert.equal(typeof report.city, "string");
  assert.ok(Number.isInteger(report.population));
  assert.equal(typeof report.coastal, "boolean");
  assert.ok(
    Array.isArray(report.districts) && report.districts.every((d) => typeof d === "string"),
  );
}

/** The last request the mock received, as the provider saw it. */
// deno-lint-ignore no-explicit-any
const lastUpstream = (world: RouterHttpWorld): any => world.mock.requests.at(-1)!.body;

const PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

for (const model of ["gpt-4o-mini", "claude-haiku-4-5"]) {
  const anthropic = model.startsWith("claude");

  Deno.test(`responses (${model}): responses.create answers text, with usage`, async () => {
    await withSdk(async (client, world) => {
      const response = await client.responses.create({
        model,
        instructions: "Be brief.",
        input: "Hello gateway",
        metadata: { trace: "t-1" },
      });
      assert.equal(response.object, "response");
      assert.match(response.id, /^resp_/);
      assert.equal(response.model, model);
      assert.equal(response.status, "completed");
      assert.equal(response.instructions, "Be brief.");
      assert.deepEqual(response.metadata, { trace: "t-1" });
      assert.match(response.output_text, /^Mock reply to: Hello gateway/);
      assert.equal(response.output.length, 1);
      assert.equal(response.output[0].type, "message");
      assert.equal(response.usage!.output_tokens, 20);
      assert.ok(response.usage!.input_tokens > 0);
      assert.equal(
        response.usage!.total_tokens,
        response.usage!.input_tokens + response.usage!.output_tokens,
      );
      // The instructions reached the provider as its system prompt.
      const sent = lastUpstream(world);
      if (anthropic) assert.match(JSON.stringify(sent.system), /Be brief\./);
      else assert.deepEqual(sent.messages[0], { role: "system", content: "Be brief." });
    });
  });

  Deno.test(`responses (${model}): responses.stream sends the event sequence and ends with usage`, async () => {
    await withSdk(async (client) => {
      const whole = await client.responses.create({ model, input: "Stream it" });
      const stream = client.responses.stream({ model, input: "Stream it" });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      let text = "";
      stream.on("response.output_text.delta", (event) => (text += event.delta));
      for await (const event of stream) events.push(event);
      const final = await stream.finalResponse();
      const types = events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
      ]);
      assert.deepEqual(types.slice(-5), [
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ]);
      assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
      assert.equal(text, whole.output_text);
      assert.equal(final.output_text, whole.output_text);
      assert.equal(final.status, "completed");
      assert.deepEqual(final.usage, whole.usage);
    });
  });

  Deno.test(`responses (${model}): a function_call, then its function_call_output, answered with text`, async () => {
    await withSdk(async (client, world) => {
      const input: ResponseInputItem[] = [{ role: "user", content: "call get_weather for me" }];
      const first = await client.responses.create({ model, input, tools: [weather] });
      const call = first.output.find((item) => item.type === "function_call");
      assert.ok(call, JSON.stringify(first.output));
      assert.equal(call.name, "get_weather");
      assert.deepEqual(JSON.parse(call.arguments), { city: "sample-city" });
      assert.ok(call.call_id);
      assert.equal(first.status, "completed");

      const second = await client.responses.create({
        model,
        tools: [weather],
        input: [
          ...input,
          ...first.output as ResponseInputItem[],
          { type: "function_call_output", call_id: call.call_id, output: '{"celsius":12}' },
        ],
      });
      assert.equal(second.output.at(-1)!.type, "message");
      assert.ok(second.output_text.length > 0);
      // The provider saw the call and its result, paired by the call's id.
      const sent = JSON.stringify(lastUpstream(world).messages);
      assert.ok(sent.includes(call.call_id), sent);
      assert.ok(sent.includes('{\\"celsius\\":12}'), sent);
    });
  });

  Deno.test(`responses (${model}): parallel function calls, streamed argument deltas assemble whole`, async () => {
    await withSdk(async (client) => {
      const request = { model, input: "call get_weather and get_time", tools: [weather, clock] };
      const whole = await client.responses.create(request);
      const calls = whole.output.filter((item) => item.type === "function_call");
      assert.deepEqual(calls.map((c) => c.name), ["get_weather", "get_time"]);

      const stream = client.responses.stream(request);
      const deltas = new Map<string, string>();
      const done = new Map<string, string>();
      for await (const event of stream) {
        if (event.type === "response.function_call_arguments.delta") {
          deltas.set(event.item_id, (deltas.get(event.item_id) ?? "") + event.delta);
        }
        if (event.type === "response.function_call_arguments.done") {
          done.set(event.item_id, event.arguments);
        }
      }
      const final = await stream.finalResponse();
      const streamed = final.output.filter((item) => item.type === "function_call");
      assert.deepEqual(streamed.map((c) => c.name), ["get_weather", "get_time"]);
      for (const call of streamed) {
        assert.equal(deltas.get(call.id!), call.arguments);
        assert.equal(done.get(call.id!), call.arguments);
      }
      assert.deepEqual(JSON.parse(streamed[0].arguments), { city: "sample-city" });
    });
  });

  Deno.test(`responses (${model}): text.format json_schema answers JSON of the schema's shape`, async () => {
    await withSdk(async (client, world) => {
      const request = {
        model,
        input: "Describe Oslo",
        text: { format: cityReport },
      };
      const whole = await client.responses.create(request);
      assertCityReport(JSON.parse(whole.output_text));
      // The schema reached the provider in its own native form, not as a prompt instruction.
      const sent = lastUpstream(world);
      const format = anthropic ? sent.output_config?.format : sent.response_format?.json_schema;
      assert.deepEqual(format?.schema, cityReport.schema, JSON.stringify(sent));

      const stream = client.responses.stream(request);
      const final = await stream.finalResponse();
      assertCityReport(JSON.parse(final.output_text));
    });
  });

  Deno.test(`responses (${model}): an image in the input reaches the provider`, async () => {
    await withSdk(async (client, world) => {
      const response = await client.responses.create({
        model,
        input: [{
          role: "user",
          content: [
            { type: "input_text", text: "What is this?" },
            { type: "input_image", image_url: PNG, detail: "low" },
          ],
        }],
      });
      assert.match(response.output_text, /^Mock reply to: What is this\?/);
      const content = lastUpstream(world).messages.at(-1).content;
      const image = content.find((part: { type: string }) =>
        part.type === (anthropic ? "image" : "image_url")
      );
      assert.ok(image, JSON.stringify(content));
      if (anthropic) assert.equal(image.source.type, "base64");
      else assert.equal(image.image_url.url, PNG);
    });
  });

  Deno.test(`responses (${model}): max_output_tokens cuts the answer short: incomplete, streamed or not`, async () => {
    await withSdk(async (client, world) => {
      const request = { model, input: "Tell me everything", max_output_tokens: 5 };
      const whole = await client.responses.create(request);
      assert.equal(whole.status, "incomplete");
      assert.deepEqual(whole.incomplete_details, { reason: "max_output_tokens" });
      assert.equal(whole.usage!.output_tokens, 5);
      const sent = lastUpstream(world);
      assert.equal(anthropic ? sent.max_tokens : sent.max_completion_tokens ?? sent.max_tokens, 5);

      const stream = client.responses.stream(request);
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      assert.equal(types.at(-1), "response.incomplete");
      const final = await stream.finalResponse();
      assert.equal(final.status, "incomplete");
      assert.equal(final.output_text, whole.output_text);
    });
  });
}

Deno.test("responses: reasoning.effort reaches an effort model, and its reasoning tokens are reported", async () => {
  await withSdk(async (client, world) => {
    const response = await client.responses.create({
      model: "o4-mini",
      input: "Think about it",
      reasoning: { effort: "low" },
    });
    assert.equal(lastUpstream(world).reasoning_effort, "low");
    assert.equal(response.reasoning?.effort, "low");
    const reasoningTokens = response.usage!.output_tokens_details.reasoning_tokens;
    assert.ok(reasoningTokens > 0, "reasoning tokens are reported");
    assert.ok(reasoningTokens <= response.usage!.output_tokens, "and are part of the output");

    const stream = client.responses.stream({
      model: "o4-mini",
      input: "Think about it",
      reasoning: { effort: "low" },
    });
    const final = await stream.finalResponse();
    assert.deepEqual(final.usage, response.usage);
  });
});

Deno.test("responses: Claude's thinking comes back as reasoning items that round-trip with their signature", async () => {
  await withSdk(async (client, world) => {
    const input: ResponseInputItem[] = [{ role: "user", content: "call get_weather, think first" }];
    const request = {
      model: "claude-haiku-4-5",
      input,
      tools: [weather],
      reasoning: { effort: "low" as const },
    };
    const first = await client.responses.create(request);
    const reasoning = first.output.filter((item) => item.type === "reasoning");
    assert.ok(reasoning.length > 0, JSON.stringify(first.output));
    assert.ok(reasoning[0].summary[0].text.length > 0);
    assert.ok(reasoning[0].encrypted_content, "the signature comes back");
    assert.equal(first.output[0].type, "reasoning", "reasoning comes first");

    const stream = client.responses.stream(request);
    const types = new Set<string>();
    for await (const event of stream) types.add(event.type);
    assert.ok(types.has("response.reasoning_summary_text.delta"));
    const streamed = (await stream.finalResponse()).output.filter((i) => i.type === "reasoning");
    assert.deepEqual(
      streamed.map((r) => [r.summary, r.encrypted_content]),
      reasoning.map((r) => [r.summary, r.encrypted_content]),
    );

    const call = first.output.find((item) => item.type === "function_call")!;
    await client.responses.create({
      ...request,
      input: [
        ...input,
        ...first.output as ResponseInputItem[],
        { type: "function_call_output", call_id: call.call_id, output: "12C" },
      ],
    });
    const assistant = lastUpstream(world).messages.find((m: { role: string }) =>
      m.role === "assistant"
    );
    const thinking = assistant.content.find((b: { type: string }) => b.type === "thinking");
    assert.equal(thinking.signature, reasoning[0].encrypted_content);
    assert.equal(thinking.thinking, reasoning[0].summary[0].text);
  });
});

Deno.test("responses: what needs stored state is a 400 in OpenAI's shape naming the field, with no upstream call", async () => {
  await withSdk(async (client, world) => {
    const cases: [Record<string, unknown>, string][] = [
      [{ previous_response_id: "resp_123" }, "previous_response_id"],
      [{ conversation: "conv_123" }, "conversation"],
      [{ store: true }, "store"],
      [{ input: [{ type: "item_reference", id: "msg_1" }] }, "input[0]"],
    ];
    for (const [extra, param] of cases) {
      const error = await client.responses.create({
        model: "gpt-4o-mini",
        input: "x",
        ...extra,
      } as OpenAI.Responses.ResponseCreateParamsNonStreaming).then(
        () => assert.fail(`accepted ${JSON.stringify(extra)}`),
        (e) => e,
      );
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.code, "VALIDATION_ERROR");
      assert.equal(error.param, param);
      assert.equal((error.error as { type: string }).type, "invalid_request_error");
    }
    assert.equal(world.mock.requests.length, 0);
  });
});

Deno.test("responses: a bad key is a 401 the SDK raises as AuthenticationError", async () => {
  const world = await routerHttpWorld();
  try {
    const client = new OpenAI({ apiKey: "not-a-token", baseURL: `${world.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      () => client.responses.create({ model: "gpt-4o-mini", input: "x" }),
      OpenAI.AuthenticationError,
    );
  } finally {
    await world.close();
  }
});

Deno.test("responses: a provider failing mid-stream ends it with an error event carrying the gateway's code", async () => {
  await withSdk(async (client, world) => {
    world.mock.queueFault("error-event=4", 1);
    const stream = client.responses.stream({ model: "gpt-4o-mini", input: "fail midway" });
    await assert.rejects(
      async () => {
        for await (const _ of stream) { /* read to the failure */ }
      },
      (e: unknown) => e instanceof OpenAI.APIError && e.code === "PROVIDER_ERROR",
    );

    world.mock.queueFault("error-event=4", 1);
    const raw = await world.post("/v1/responses", {
      model: "gpt-4o-mini",
      input: "fail midway",
      stream: true,
    });
    assert.equal(raw.status, 200);
    const events = await readSse(raw);
    const data = events.map((e) => JSON.parse(e.data));
    assert.deepEqual(data.map((d) => d.sequence_number), data.map((_, i) => i));
    assert.deepEqual(events.slice(-2).map((e) => e.event), ["error", "response.failed"]);
    assert.equal(data.at(-2).code, "PROVIDER_ERROR");
    assert.ok(!data.some((d) => d.type === "response.completed"));
  });
});

Deno.test("responses: a cached answer is served again, as JSON and as a stream, without an upstream call", async () => {
  await withSdk(async (client, world) => {
    // `cache` is the gateway's extension field, beside OpenAI's.
    const request = { model: "gpt-4o-mini", input: "cache me", cache: true } as {
      model: string;
      input: string;
    };
    const first = await client.responses.create(request);
    await world.settle();
    const { data: again, response } = await client.responses.create(request).withResponse();
    assert.equal(response.headers.get("x-llm-cache"), "HIT");
    assert.equal(again.output_text, first.output_text);
    const final = await client.responses.stream(request).finalResponse();
    assert.equal(final.output_text, first.output_text);
    assert.equal(final.status, "completed");
    assert.equal(world.mock.requests.length, 1);
  });
});

Deno.test("responses: reading a response back is a 404 saying none is kept", async () => {
  await withSdk(async (client) => {
    const error = await client.responses.retrieve("resp_123").then(() => undefined, (e) => e);
    assert.ok(error instanceof OpenAI.NotFoundError, String(error));
    assert.equal(error.code, "RESPONSE_NOT_STORED");
  });
});
