/**
 * llm-router's Anthropic Messages API driven by the official
 * `@anthropic-ai/sdk` with `baseURL` pointed at it: `messages.create` and
 * `messages.stream` with tools and images, tool results, stop reasons,
 * prompt-cache usage, `count_tokens` and errors work unchanged, whether an
 * OpenAI-compatible model or Claude serves; the key goes in `x-api-key` or
 * `Authorization: Bearer`; guards, usage rows and metrics apply as for every
 * entrance.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import {
  callJson,
  faultyModel,
  routerHttpWorld,
  SERVICE_KEY,
} from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { readMetrics } from "../supabase/functions/_shared/metrics/snapshot.ts";

type World = Awaited<ReturnType<typeof routerHttpWorld>>;

/** A 1×1 transparent PNG. */
const PIXEL =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async function withSdk(
  fn: (client: Anthropic, world: World) => Promise<void>,
  env: Record<string, string> = {},
) {
  const world = await routerHttpWorld(env);
  const client = new Anthropic({ apiKey: world.memberToken, baseURL: world.url, maxRetries: 0 });
  try {
    await fn(client, world);
  } finally {
    await world.close();
  }
}

const weather: Anthropic.Tool = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const clock: Anthropic.Tool = {
  name: "get_time",
  input_schema: { type: "object", properties: { zone: { type: "string" } } },
};

/** The request bodies the mock provider received, newest last. */
// deno-lint-ignore no-explicit-any
const upstreamBodies = (world: World): any[] => world.mock.requests.map((r) => r.body);

for (const model of ["gpt-4o-mini", "claude-haiku-4-5"]) {
  const upstreamPath = model.startsWith("claude") ? "/v1/messages" : "/v1/chat/completions";

  Deno.test(`anthropic sdk → router (${model}): messages.create with a system prompt`, async () => {
    await withSdk(async (client, world) => {
      const message = await client.messages.create({
        model,
        max_tokens: 200,
        system: [{ type: "text", text: "Be brief." }, { type: "text", text: "Be kind." }],
        messages: [{ role: "user", content: "Hello gateway" }],
      });
      assert.equal(message.type, "message");
      assert.equal(message.role, "assistant");
      assert.equal(message.model, model);
      assert.match(message.id, /^msg_/);
      assert.equal(message.content.length, 1);
      const [block] = message.content;
      assert.equal(block.type, "text");
      assert.match(block.type === "text" ? block.text : "", /^Mock reply to: Hello gateway/);
      assert.equal(message.stop_reason, "end_turn");
      assert.equal(message.usage.output_tokens, 20);
      assert.ok(message.usage.input_tokens > 0);
      assert.equal(world.mock.requests.at(-1)!.path, upstreamPath);
    });
  });

  Deno.test(`anthropic sdk → router (${model}): messages.stream sends Anthropic's event sequence`, async () => {
    await withSdk(async (client) => {
      const request = {
        model,
        max_tokens: 200,
        messages: [{ role: "user" as const, content: "Stream it" }],
      };
      const whole = await client.messages.create(request);
      const stream = client.messages.stream(request);
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      const final = await stream.finalMessage();
      assert.deepEqual(
        [...new Set(types)],
        [
          "message_start",
          "content_block_start",
          "content_block_delta",
          "content_block_stop",
          "message_delta",
          "message_stop",
        ],
      );
      assert.equal(types.at(-1), "message_stop");
      assert.deepEqual(final.content, whole.content);
      assert.equal(final.stop_reason, "end_turn");
      assert.deepEqual(final.usage.output_tokens, whole.usage.output_tokens);
      assert.deepEqual(final.usage.input_tokens, whole.usage.input_tokens);
    });
  });

  Deno.test(`anthropic sdk → router (${model}): parallel tool_use blocks, streamed input_json_delta reassembles to the same input`, async () => {
    await withSdk(async (client) => {
      const request = {
        model,
        max_tokens: 300,
        tools: [weather, clock],
        messages: [{ role: "user" as const, content: "call get_weather and get_time" }],
      };
      const whole = await client.messages.create(request);
      assert.equal(whole.stop_reason, "tool_use");
      const calls = whole.content.filter((b) => b.type === "tool_use");
      assert.deepEqual(calls.map((c) => c.name), ["get_weather", "get_time"]);
      assert.deepEqual(calls[0].input, { city: "sample-city" });
      assert.ok(calls.every((c) => c.id));

      const stream = client.messages.stream(request);
      const starts: { index: number; type: string }[] = [];
      const partial = new Map<number, string>();
      let open: number | undefined;
      for await (const event of stream) {
        if (event.type === "content_block_start") {
          assert.equal(open, undefined, "one block open at a time");
          open = event.index;
          starts.push({ index: event.index, type: event.content_block.type });
        }
        if (event.type === "content_block_delta") {
          assert.equal(event.index, open, "deltas belong to the open block");
          if (event.delta.type === "input_json_delta") {
            partial.set(event.index, (partial.get(event.index) ?? "") + event.delta.partial_json);
          }
        }
        if (event.type === "content_block_stop") {
          assert.equal(event.index, open);
          open = undefined;
        }
      }
      assert.deepEqual(starts.map((s) => s.index), starts.map((_, i) => i), "indexes 0, 1, 2 …");
      const toolBlocks = starts.filter((s) => s.type === "tool_use").map((s) => s.index);
      assert.equal(toolBlocks.length, 2);
      assert.deepEqual(
        toolBlocks.map((i) => JSON.parse(partial.get(i)!)),
        calls.map((c) => c.input),
      );
      const final = await stream.finalMessage();
      assert.equal(final.stop_reason, "tool_use");
      assert.deepEqual(
        final.content.filter((b) => b.type === "tool_use").map((b) => [b.name, b.input]),
        calls.map((c) => [c.name, c.input]),
      );
    });
  });

  Deno.test(`anthropic sdk → router (${model}): a tool_result round trip answers with text`, async () => {
    await withSdk(async (client, world) => {
      const first = await client.messages.create({
        model,
        max_tokens: 300,
        tools: [weather],
        tool_choice: { type: "tool", name: "get_weather" },
        messages: [{ role: "user", content: "Weather in Oslo?" }],
      });
      const call = first.content.find((b) => b.type === "tool_use")!;
      assert.equal(call.name, "get_weather");
      const second = await client.messages.create({
        model,
        max_tokens: 300,
        tools: [weather],
        messages: [
          { role: "user", content: "Weather in Oslo?" },
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: call.id, content: "rain" },
              { type: "text", text: "And be short." },
            ],
          },
        ],
      });
      assert.equal(second.stop_reason, "end_turn");
      assert.equal(second.content[0].type, "text");
      const sent = upstreamBodies(world).at(-1);
      if (model.startsWith("claude")) {
        const last = sent.messages.at(-1);
        assert.deepEqual(last.content[0], {
          type: "tool_result",
          tool_use_id: call.id,
          content: "rain",
        });
        assert.equal(sent.messages.at(-2).content.at(-1).id, call.id);
      } else {
        const roles = sent.messages.map((m: { role: string }) => m.role);
        assert.deepEqual(roles, ["user", "assistant", "tool", "user"]);
        assert.equal(sent.messages[1].tool_calls[0].id, call.id);
        assert.equal(sent.messages[1].tool_calls[0].function.arguments, JSON.stringify(call.input));
        assert.equal(sent.messages[2].tool_call_id, call.id);
        assert.equal(sent.messages[2].content, "rain");
      }
    });
  });

  Deno.test(`anthropic sdk → router (${model}): images, as base64 and as a URL, reach the provider in its own form`, async () => {
    await withSdk(async (client, world) => {
      const message = await client.messages.create({
        model,
        max_tokens: 100,
        messages: [{
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
            { type: "text", text: "What is in these images?" },
          ],
        }],
      });
      assert.equal(message.stop_reason, "end_turn");
      const sent = upstreamBodies(world).at(-1).messages[0].content;
      if (model.startsWith("claude")) {
        assert.deepEqual(sent.slice(0, 2), [
          { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        ]);
      } else {
        assert.deepEqual(
          sent.slice(0, 2).map((p: { image_url: { url: string } }) => p.image_url.url),
          [
            `data:image/png;base64,${PIXEL}`,
            "https://example.com/cat.jpg",
          ],
        );
      }
    });
  });

  Deno.test(`anthropic sdk → router (${model}): a reply cut by max_tokens stops with max_tokens`, async () => {
    await withSdk(async (client) => {
      const request = {
        model,
        max_tokens: 5,
        messages: [{ role: "user" as const, content: "Tell me everything" }],
      };
      assert.equal((await client.messages.create(request)).stop_reason, "max_tokens");
      assert.equal(
        (await client.messages.stream(request).finalMessage()).stop_reason,
        "max_tokens",
      );
    });
  });
}

Deno.test("anthropic sdk → router (claude-haiku-4-5): cache_control reaches Claude; cache writes then reads are reported, streamed or not", async () => {
  await withSdk(async (client, world) => {
    const request = {
      model: "claude-haiku-4-5",
      max_tokens: 100,
      system: [{
        type: "text" as const,
        text: "You are a careful assistant. ".repeat(200),
        cache_control: { type: "ephemeral" as const },
      }],
      messages: [{ role: "user" as const, content: "Hi" }],
    };
    const first = await client.messages.create(request);
    assert.ok(first.usage.cache_creation_input_tokens! > 0);
    assert.equal(first.usage.cache_read_input_tokens, 0);
    const sent = upstreamBodies(world).at(-1);
    assert.deepEqual(sent.system.at(-1).cache_control, { type: "ephemeral" });

    const second = await client.messages.create(request);
    assert.equal(second.usage.cache_read_input_tokens, first.usage.cache_creation_input_tokens);
    assert.equal(second.usage.cache_creation_input_tokens, 0);
    assert.equal(
      second.usage.input_tokens,
      first.usage.input_tokens,
      "input_tokens excludes the cache",
    );

    const streamed = await client.messages.stream(request).finalMessage();
    assert.deepEqual(
      [streamed.usage.input_tokens, streamed.usage.cache_read_input_tokens],
      [second.usage.input_tokens, second.usage.cache_read_input_tokens],
    );
  });
});

Deno.test("anthropic sdk → router (gpt-4o-mini): OpenAI's cached prompt tokens are cache reads", async () => {
  await withSdk(async (client) => {
    const request = {
      model: "gpt-4o-mini",
      max_tokens: 100,
      messages: [
        { role: "user" as const, content: "Context: " + "lorem ipsum dolor sit amet ".repeat(400) },
        { role: "assistant" as const, content: "Noted." },
        { role: "user" as const, content: "Summarize." },
      ],
    };
    const first = await client.messages.create(request);
    assert.equal(first.usage.cache_read_input_tokens, 0);
    const second = await client.messages.create(request);
    assert.ok(second.usage.cache_read_input_tokens! > 0);
    assert.equal(
      second.usage.input_tokens + second.usage.cache_read_input_tokens!,
      first.usage.input_tokens,
      "the same prompt, part of it now read from the cache",
    );
  });
});

Deno.test("anthropic sdk → router: thinking and output_config pass through to Claude as given", async () => {
  await withSdk(async (client, world) => {
    await client.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 4000,
      thinking: { type: "enabled", budget_tokens: 2048 },
      output_config: { effort: "low" },
      cache_control: { type: "ephemeral" },
      messages: [{ role: "user", content: "Think first" }],
    });
    const sent = upstreamBodies(world).at(-1);
    assert.deepEqual(sent.thinking, { type: "enabled", budget_tokens: 2048 });
    assert.equal(sent.output_config.effort, "low");
    assert.deepEqual(sent.cache_control, { type: "ephemeral" });
  });
});

Deno.test("anthropic sdk → router: the beta client (POST /v1/messages?beta=true, as coding agents call it) works too", async () => {
  await withSdk(async (client) => {
    const request = {
      model: "claude-haiku-4-5",
      max_tokens: 50,
      betas: ["interleaved-thinking-2025-05-14"],
      messages: [{ role: "user" as const, content: "beta" }],
    };
    const whole = await client.beta.messages.create(request);
    assert.equal(whole.stop_reason, "end_turn");
    const streamed = await client.beta.messages.stream(request).finalMessage();
    assert.deepEqual(streamed.content, whole.content);
  });
});

Deno.test("anthropic sdk → router: model auto and auto:<useCase> route by use case", async () => {
  await withSdk(async (client, world) => {
    const auto = await client.messages.create({
      model: "auto",
      max_tokens: 50,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(auto.model, "gpt-4o-mini");
    const complex = await client.messages.create({
      model: "auto:complex",
      max_tokens: 50,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(complex.model, "claude-sonnet-4-6");
    assert.equal(world.mock.requests.at(-1)!.path, "/v1/messages");
  });
});

Deno.test("anthropic sdk → router: the key works in x-api-key and in Authorization: Bearer, the service key too", async () => {
  await withSdk(async (_client, world) => {
    const ask = (client: Anthropic) =>
      client.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 20,
        messages: [{ role: "user", content: "who am I" }],
      });
    const viaHeader = new Anthropic({
      apiKey: world.memberToken,
      baseURL: world.url,
      maxRetries: 0,
    });
    const viaBearer = new Anthropic({
      authToken: world.memberToken,
      baseURL: world.url,
      maxRetries: 0,
    });
    const asServer = new Anthropic({ apiKey: SERVICE_KEY, baseURL: world.url, maxRetries: 0 });
    for (const client of [viaHeader, viaBearer, asServer]) {
      assert.equal((await ask(client)).type, "message");
    }
  });
});

Deno.test("anthropic api: a browser may send x-api-key and anthropic-version (CORS preflight)", async () => {
  await withSdk(async (_client, world) => {
    const response = await fetch(`${world.url}/v1/messages`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key, anthropic-version, content-type",
      },
    });
    await response.body?.cancel();
    assert.equal(response.status, 204);
    const allowed = response.headers.get("access-control-allow-headers")!.split(/,\s*/);
    assert.ok(
      allowed.includes("x-api-key") && allowed.includes("anthropic-version"),
      allowed.join(),
    );
  });
});

Deno.test("anthropic sdk → router: errors are the SDK's typed errors with the gateway's code, and nothing goes upstream", async () => {
  await withSdk(async (client, world) => {
    await assert.rejects(
      client.messages.create({
        model: "claude-99",
        max_tokens: 10,
        messages: [{ role: "user", content: "x" }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof Anthropic.BadRequestError);
        assert.equal(error.type, "invalid_request_error");
        assert.equal(error.errorCode, "VALIDATION_ERROR");
        assert.equal((error.details as { field?: string }).field, "model");
        return true;
      },
    );
    await assert.rejects(
      client.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 10,
        messages: [{
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "toolu_nowhere", content: "x" }],
        }],
      }),
      (error: unknown) =>
        error instanceof Anthropic.BadRequestError &&
        (error.details as { field?: string }).field === "messages[0].content[0].tool_use_id",
    );
    const anonymous = new Anthropic({ apiKey: "not-a-token", baseURL: world.url, maxRetries: 0 });
    await assert.rejects(
      anonymous.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 10,
        messages: [{ role: "user", content: "x" }],
      }),
      (error: unknown) =>
        error instanceof Anthropic.AuthenticationError && error.errorCode === "AUTH_INVALID" &&
        error.type === "authentication_error",
    );
    assert.equal(world.mock.requests.length, 0);
  });
});

Deno.test("anthropic sdk → router: a stream failing after its start ends with an error event the SDK raises", async () => {
  await withSdk(async (client) => {
    const stream = client.messages.stream({
      model: "claude-haiku-4-5::reset-after=5",
      max_tokens: 100,
      messages: [{ role: "user", content: "break" }],
    });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of stream) seen.push(event.type);
      })(),
      (error: unknown) => {
        assert.ok(error instanceof Anthropic.APIError, String(error));
        // The connection dropped mid-stream: the gateway's NETWORK (a 503, worth retrying).
        assert.equal(error.type, "overloaded_error");
        assert.equal(error.errorCode, "NETWORK");
        assert.equal((error.details as { retryable?: boolean }).retryable, true);
        return true;
      },
    );
    assert.equal(seen[0], "message_start", "the error came after the stream started");
    assert.ok(!seen.includes("message_stop"));
  }, {
    LLM_MODELS: JSON.stringify([faultyModel("claude-haiku-4-5", "reset-after=5")]),
    LLM_OVERRIDE_FALLBACK: "false",
  });
});

Deno.test("anthropic sdk → router: count_tokens counts the prompt, tools included, without calling a provider", async () => {
  await withSdk(async (client, world) => {
    const small = await client.messages.countTokens({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello" }],
    });
    const withTools = await client.messages.countTokens({
      model: "gpt-4o-mini",
      tools: [weather, clock],
      system: "Be brief.",
      messages: [{ role: "user", content: "Hello" }],
    });
    const auto = await client.messages.countTokens({
      model: "auto",
      messages: [{ role: "user", content: "Hello" }],
    });
    assert.ok(small.input_tokens > 0);
    assert.ok(withTools.input_tokens > small.input_tokens);
    assert.equal(auto.input_tokens, small.input_tokens, "auto counts on the route's first model");
    await assert.rejects(
      client.messages.countTokens({ model: "nope", messages: [{ role: "user", content: "x" }] }),
      (error: unknown) =>
        error instanceof Anthropic.BadRequestError && error.errorCode === "VALIDATION_ERROR",
    );
    assert.equal(world.mock.requests.length, 0);
  });
});

Deno.test("anthropic sdk → router: rate limits, budgets, usage rows and metrics apply as for every entrance", async () => {
  const database = await freshDb();
  const store = new MemoryStateStore();
  const world = await routerHttpWorld(
    { LLM_RATE_LIMIT_RPS: "0.01", LLM_RATE_LIMIT_BURST: "3" },
    { db: database.db, store },
  );
  try {
    const account = crypto.randomUUID();
    const member = await signToken({
      sub: crypto.randomUUID(),
      app_metadata: { account_id: account, role: "member" },
    });
    const admin = await signToken({
      sub: crypto.randomUUID(),
      app_metadata: { account_id: account, role: "admin" },
    });
    const client = new Anthropic({ apiKey: member, baseURL: world.url, maxRetries: 0 });
    const ask = () =>
      client.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 50,
        messages: [{ role: "user", content: "hello" }],
      });
    const answer = await ask();
    await world.settle();
    const rows = await database.db.query<{ model: string; output_tokens: number }>(
      "select model, output_tokens from llm_usage where account_id = $1",
      [account],
    );
    assert.deepEqual(rows, [{ model: "gpt-4o-mini", output_tokens: answer.usage.output_tokens }]);
    const metrics = await readMetrics(store, account);
    assert.equal(metrics.series.reduce((n, s) => n + (s.counts.requests ?? 0), 0), 1);

    const budget = await callJson("PUT", `${world.url}/budgets`, admin, {
      dailyLimitUsd: 0.0000001,
    });
    assert.equal(budget.status, 200, budget.text);
    await assert.rejects(ask(), (error: unknown) => {
      assert.ok(error instanceof Anthropic.APIError);
      assert.equal(error.status, 402);
      assert.equal(error.type, "billing_error");
      assert.equal(error.errorCode, "PAYMENT_REQUIRED");
      return true;
    });
    await callJson("PUT", `${world.url}/budgets`, admin, { dailyLimitUsd: 5 });
    await ask();
    await assert.rejects(
      ask(),
      (error: unknown) =>
        error instanceof Anthropic.RateLimitError && error.errorCode === "RATE_LIMIT_EXCEEDED",
    );
    assert.equal(world.mock.requests.length, 2, "refused requests never went upstream");
  } finally {
    await world.close();
    await database.close();
  }
});

Deno.test("anthropic sdk → router (claude-haiku-4-5): thinking blocks and signatures come back intact, streamed or not, and go back to Claude unchanged", async () => {
  await withSdk(async (client, world) => {
    const prompt = "call get_weather ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING";
    const request = {
      model: "claude-haiku-4-5",
      max_tokens: 4000,
      thinking: { type: "enabled" as const, budget_tokens: 1024 },
      tools: [weather],
      messages: [{ role: "user" as const, content: prompt }],
    };
    const whole = await client.messages.create(request);
    assert.deepEqual(whole.content.map((b) => b.type), [
      "redacted_thinking",
      "thinking",
      "text",
      "tool_use",
    ]);
    const thinking = whole.content[1];
    assert.ok(
      thinking.type === "thinking" && thinking.thinking !== "" && thinking.signature !== "",
    );
    assert.ok(whole.usage.output_tokens_details!.thinking_tokens > 0);

    const streamed = await client.messages.stream(request).finalMessage();
    // The mock numbers tool calls per request: compare all but their ids.
    const withoutIds = (content: Anthropic.ContentBlock[]) =>
      content.map((b) => b.type === "tool_use" ? { ...b, id: "" } : b);
    assert.deepEqual(
      withoutIds(streamed.content),
      withoutIds(whole.content),
      "the same blocks, signatures included",
    );

    const call = whole.content.find((b) => b.type === "tool_use")!;
    const next = await client.messages.create({
      ...request,
      messages: [
        { role: "user", content: prompt },
        { role: "assistant", content: whole.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "sun" }] },
      ],
    });
    assert.equal(next.stop_reason, "end_turn", "Claude (the mock) accepted the signatures");
    const sentBack = upstreamBodies(world).at(-1).messages[1].content;
    assert.deepEqual(sentBack.slice(0, 2), [
      { type: "redacted_thinking", data: (whole.content[0] as { data: string }).data },
      { type: "thinking", thinking: thinking.thinking, signature: thinking.signature },
    ]);
  });
});
