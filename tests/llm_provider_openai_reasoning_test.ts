/**
 * The OpenAI-compatible adapter's reasoning mappings, through the mock
 * provider: `reasoning_effort` out, reasoning tokens back (billed as output),
 * DeepSeek-style `reasoning_content` read in JSON and streams, reasoning never
 * sent back, and the same usage and cost whether the answer is streamed or not.
 */
import assert from "node:assert/strict";
import type { MockProvider } from "../scripts/mock-provider.ts";
import { ask, callOptions, collect, withMock } from "./helpers/adapter-kit.ts";
import { BUILT_IN_MODELS, costOf } from "../supabase/functions/_shared/llm/catalog.ts";
import { createProviderAdapter } from "../supabase/functions/_shared/llm/providers/create-adapter.ts";
import type { ProviderAdapter } from "../supabase/functions/_shared/llm/providers/provider.ts";
import { BUILT_IN_PROVIDERS } from "../supabase/functions/_shared/llm/providers/registry.ts";
import type { LLMChatRequest, LLMUsage } from "../supabase/functions/_shared/llm/types.ts";

function adapterFor(mock: MockProvider, provider = "openai"): ProviderAdapter {
  return createProviderAdapter({
    spec: BUILT_IN_PROVIDERS.find((spec) => spec.name === provider)!,
    apiKey: "sk-test-openai-reasoning-0123456789",
    baseUrl: mock.openaiBaseUrl,
    fetch: globalThis.fetch,
    now: Date.now,
  });
}

type Sent = Record<string, unknown> & { messages: Record<string, unknown>[] };
const sent = (mock: MockProvider, i = 0) => mock.requests[i].body as Sent;

/** The usage of `request` answered as JSON or streamed (stream usage asked for by the adapter). */
async function usageOf(
  adapter: ProviderAdapter,
  request: LLMChatRequest,
  model: string,
  streamed: boolean,
): Promise<LLMUsage> {
  if (!streamed) return (await adapter.chat(request, callOptions(model))).usage;
  const finish = (await collect(adapter.stream(request, callOptions(model)))).at(-1)!;
  assert.equal(finish.type, "finish");
  return finish.type === "finish" ? finish.usage : undefined!;
}

Deno.test("openai adapter: an effort goes out as reasoning_effort; reasoning tokens come back inside the output", async () => {
  await withMock(async (mock) => {
    const answer = await adapterFor(mock).chat(
      ask("think hard", { reasoning: { effort: "medium" } }),
      callOptions("o4-mini"),
    );
    assert.equal(sent(mock).reasoning_effort, "medium");
    // The mock spends 64 hidden tokens at medium effort.
    assert.equal(answer.usage.reasoningTokens, 64);
    assert.equal(answer.usage.outputTokens, 20 + 64);
    // OpenAI returns no reasoning text in chat completions.
    assert.equal(answer.reasoning, undefined);
  });
});

Deno.test("openai adapter: without reasoning no reasoning_effort is sent and no reasoning tokens are reported", async () => {
  await withMock(async (mock) => {
    const answer = await adapterFor(mock).chat(ask("hi"), callOptions("gpt-4o-mini"));
    assert.equal("reasoning_effort" in sent(mock), false);
    assert.equal("reasoningTokens" in answer.usage, false);
  });
});

Deno.test("openai adapter: reasoning_content (DeepSeek) becomes reasoning, JSON and streamed alike", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock, "deepseek");
    const request = ask("Why do cats purr");
    const json = await adapter.chat(request, callOptions("deepseek-reasoner"));
    assert.equal(json.reasoning?.length, 1);
    const thinking = json.reasoning![0];
    assert.equal(thinking.type, "thinking");
    assert.match(thinking.type === "thinking" ? thinking.text : "", /^Thinking about: Why do cats/);
    assert.ok(json.usage.reasoningTokens! > 0);

    const events = await collect(adapter.stream(request, callOptions("deepseek-reasoner")));
    const kinds = events.map((e) => e.type);
    assert.ok(kinds.lastIndexOf("reasoning-delta") < kinds.indexOf("text-delta"));
    const streamedReasoning = events.map((e) => e.type === "reasoning-delta" ? e.text : "").join(
      "",
    );
    assert.equal(streamedReasoning, thinking.type === "thinking" ? thinking.text : "");
    const finish = events.at(-1)!;
    assert.deepEqual(finish.type === "finish" && finish.usage, json.usage);
  });
});

Deno.test("openai adapter: reasoning is never sent back to an OpenAI-compatible provider", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock, "deepseek").chat({
      messages: [
        { role: "user", content: "a" },
        {
          role: "assistant",
          content: "b",
          reasoning: [{ type: "thinking", text: "hmm", signature: "sig" }],
        },
        { role: "user", content: "c" },
      ],
    }, callOptions("deepseek-reasoner"));
    assert.deepEqual(sent(mock).messages[1], { role: "assistant", content: "b" });
  });
});

Deno.test("openai adapter: streamed and JSON answers record the same usage and cost, cached and reasoning tokens included", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const model = BUILT_IN_MODELS.find((m) => m.id === "o4-mini")!;
    const request: LLMChatRequest = {
      messages: [{ role: "system", content: "rules ".repeat(1_200) }, {
        role: "user",
        content: "apply them",
      }],
      reasoning: { effort: "high" },
    };
    const coldJson = await usageOf(adapter, request, model.id, false);
    mock.reset();
    const coldStream = await usageOf(adapter, request, model.id, true);
    const warmJson = await usageOf(adapter, request, model.id, false);
    const warmStream = await usageOf(adapter, request, model.id, true);

    assert.equal(coldJson.reasoningTokens, 256);
    assert.ok(warmJson.cachedInputTokens >= 1_024);
    assert.deepEqual(coldStream, coldJson);
    assert.deepEqual(warmStream, warmJson);
    assert.equal(costOf(model, warmStream), costOf(model, warmJson));
    assert.equal(costOf(model, coldStream), costOf(model, coldJson));
    assert.ok(costOf(model, warmJson) < costOf(model, coldJson));
  });
});

Deno.test("openai adapter: a failed tool result says so in its content, chat completions having no flag", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock).chat({
      messages: [
        { role: "user", content: "look it up" },
        {
          role: "assistant",
          content: null,
          toolCalls: [{ id: "call_1", name: "lookup", arguments: "{}" }],
        },
        { role: "tool", toolCallId: "call_1", content: "timed out", isError: true },
      ],
    }, callOptions("gpt-4o-mini"));
    assert.deepEqual(sent(mock).messages[2], {
      role: "tool",
      tool_call_id: "call_1",
      content: "Error: timed out",
    });
  });
});
