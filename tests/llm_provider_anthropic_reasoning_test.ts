/**
 * The Anthropic adapter's newer mappings, through the mock provider: thinking
 * (budget, effort, disabled), thinking blocks and their signatures both ways
 * (JSON and stream), redacted thinking, prompt-cache markers on every block
 * that takes one, a Messages body's own fields passed through, and the same
 * usage and cost whether the answer is streamed or not.
 */
import assert from "node:assert/strict";
import type { MockProvider } from "../scripts/mock-provider.ts";
import { REDACTED_THINKING_TRIGGER } from "../scripts/mock/anthropic-routes.ts";
import { ask, callOptions, collect, rejection, withMock } from "./helpers/adapter-kit.ts";
import { BUILT_IN_MODELS, costOf } from "../supabase/functions/_shared/llm/catalog.ts";
import { createProviderAdapter } from "../supabase/functions/_shared/llm/providers/create-adapter.ts";
import type { ProviderAdapter } from "../supabase/functions/_shared/llm/providers/provider.ts";
import { BUILT_IN_PROVIDERS } from "../supabase/functions/_shared/llm/providers/registry.ts";
import type {
  LLMChatRequest,
  LLMReasoningPart,
  LLMStreamEvent,
} from "../supabase/functions/_shared/llm/types.ts";

const MODEL = "claude-sonnet-4-6";
const spec = BUILT_IN_PROVIDERS.find((s) => s.name === "anthropic")!;
const opts = () => callOptions(MODEL);

function adapterFor(mock: MockProvider): ProviderAdapter {
  return createProviderAdapter({
    spec,
    apiKey: "sk-ant-test-reasoning-0123456789",
    baseUrl: mock.anthropicBaseUrl,
    fetch: globalThis.fetch,
    now: Date.now,
  });
}

type Sent = Record<string, unknown> & { messages: { role: string; content: unknown }[] };
const sent = (mock: MockProvider, i = 0) => mock.requests[i].body as Sent;

/** What a stream said, gathered: reasoning parts as a JSON answer would hold them, text, finish. */
function gathered(events: LLMStreamEvent[]) {
  const reasoning: LLMReasoningPart[] = [];
  let open: { type: "thinking"; text: string; signature?: string } | undefined;
  let text = "";
  let finish: Extract<LLMStreamEvent, { type: "finish" }> | undefined;
  for (const event of events) {
    if (event.type === "reasoning-delta") {
      if (!open) reasoning.push(open = { type: "thinking", text: "" });
      open.text += event.text;
    } else if (event.type === "reasoning-signature") {
      if (!open) reasoning.push(open = { type: "thinking", text: "" });
      open.signature = event.signature;
      open = undefined;
    } else if (event.type === "reasoning-redacted") {
      reasoning.push({ type: "redacted_thinking", data: event.data });
    } else if (event.type === "text-delta") text += event.text;
    else if (event.type === "finish") finish = event;
  }
  return { reasoning, text, finish };
}

Deno.test("anthropic adapter: a thinking budget and an effort reach Claude as thinking and output_config.effort", async () => {
  await withMock(async (mock) => {
    const answer = await adapterFor(mock).chat(
      ask("Why is the sky blue", {
        maxTokens: 6_000,
        reasoning: { budgetTokens: 2_048, effort: "high" },
      }),
      opts(),
    );
    const body = sent(mock);
    assert.deepEqual(body.thinking, { type: "enabled", budget_tokens: 2_048 });
    assert.deepEqual(body.output_config, { effort: "high" });
    assert.equal(body.max_tokens, 6_000);

    assert.equal(answer.reasoning?.length, 1);
    const [thinking] = answer.reasoning!;
    assert.equal(thinking.type, "thinking");
    assert.match(thinking.type === "thinking" ? thinking.text : "", /^Thinking about: Why is/);
    assert.match(thinking.type === "thinking" ? thinking.signature ?? "" : "", /^sig_mock_/);
    assert.match(answer.text, /^Mock reply to: Why is the sky blue/);
    // Thinking tokens are output tokens: 20 words of reply plus the thinking.
    assert.ok(answer.usage.reasoningTokens! > 0);
    assert.equal(answer.usage.outputTokens, 20 + answer.usage.reasoningTokens!);
  });
});

Deno.test("anthropic adapter: effort none turns thinking off; no reasoning sends neither field", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const off = await adapter.chat(ask("hi", { reasoning: { effort: "none" } }), opts());
    assert.deepEqual(sent(mock, 0).thinking, { type: "disabled" });
    assert.equal("output_config" in sent(mock, 0), false);
    assert.equal(off.reasoning, undefined);
    assert.equal(off.usage.reasoningTokens, undefined);

    await adapter.chat(ask("hi"), opts());
    assert.equal("thinking" in sent(mock, 1), false);
    assert.equal("output_config" in sent(mock, 1), false);
  });
});

Deno.test("anthropic adapter: stream: thinking arrives as reasoning deltas ended by the signature, before the text", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const request = ask("Explain tides", { maxTokens: 4_000, reasoning: { budgetTokens: 1_024 } });
    const json = await adapter.chat(request, opts());
    const events = await collect(adapter.stream(request, opts()));
    const kinds = events.map((e) => e.type);
    const lastReasoning = kinds.lastIndexOf("reasoning-delta");
    assert.ok(lastReasoning > 0);
    assert.equal(kinds[lastReasoning + 1], "reasoning-signature");
    assert.ok(kinds.indexOf("text-delta") > lastReasoning + 1);
    const streamed = gathered(events);
    // The same thinking, whole and signed, as the JSON answer holds it.
    assert.deepEqual(streamed.reasoning, json.reasoning);
    assert.equal(streamed.text, json.text);
    assert.deepEqual(streamed.finish?.usage, json.usage);
  });
});

Deno.test("anthropic adapter: thinking goes back unchanged before the text; a changed block is refused", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const first = await adapter.chat(
      ask("plan a trip", { reasoning: { budgetTokens: 1_024 } }),
      opts(),
    );
    const followUp = (reasoning: LLMReasoningPart[]): LLMChatRequest => ({
      messages: [
        { role: "user", content: "plan a trip" },
        { role: "assistant", content: first.text, reasoning },
        { role: "user", content: "and back" },
      ],
      reasoning: { budgetTokens: 1_024 },
    });

    await adapter.chat(followUp(first.reasoning!), opts());
    const [thinking] = first.reasoning! as { type: "thinking"; text: string; signature: string }[];
    assert.deepEqual(sent(mock, 1).messages[1].content, [
      { type: "thinking", thinking: thinking.text, signature: thinking.signature },
      { type: "text", text: first.text },
    ]);

    const changed = await rejection(
      adapter.chat(followUp([{ ...thinking, text: thinking.text + " (edited)" }]), opts()),
    );
    assert.equal(changed.code, "PROVIDER_ERROR");
    assert.match(changed.message, /400/);

    // Reasoning text from another provider (no signature) stays behind: Claude would refuse it.
    await adapter.chat(followUp([{ type: "thinking", text: "DeepSeek's musings" }]), opts());
    assert.deepEqual(sent(mock, 3).messages[1].content, [{ type: "text", text: first.text }]);
  });
});

Deno.test("anthropic adapter: redacted thinking arrives whole, JSON and stream, and goes back as it came", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const request = ask(`tell me ${REDACTED_THINKING_TRIGGER}`, {
      reasoning: { budgetTokens: 1_024 },
    });
    const json = await adapter.chat(request, opts());
    assert.equal(json.reasoning?.[0].type, "redacted_thinking");
    assert.equal(json.reasoning?.[1].type, "thinking");
    const streamed = gathered(await collect(adapter.stream(request, opts())));
    assert.deepEqual(streamed.reasoning, json.reasoning);

    await adapter.chat({
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: json.text, reasoning: json.reasoning },
        { role: "user", content: "more" },
      ],
    }, opts());
    const back = sent(mock, 2).messages[1].content as { type: string; data?: string }[];
    assert.deepEqual(back[0], json.reasoning![0]);
    assert.equal(back[1].type, "thinking");
  });
});

Deno.test("anthropic adapter: cache_control reaches system blocks, text and image parts, tool results, tools and the top level", async () => {
  await withMock(async (mock) => {
    const ephemeral = { type: "ephemeral" as const };
    await adapterFor(mock).chat({
      messages: [
        { role: "system", content: "You are terse.", cacheControl: ephemeral },
        { role: "system", content: "Answer in English." },
        {
          role: "user",
          content: [
            { type: "text", text: "Look:", cacheControl: { type: "ephemeral", ttl: "1h" } },
            { type: "image", url: "https://example.com/a.png", cacheControl: ephemeral },
          ],
        },
        {
          role: "assistant",
          content: null,
          toolCalls: [{ id: "toolu_1", name: "lookup", arguments: "{}" }],
        },
        { role: "tool", toolCallId: "toolu_1", content: "found", cacheControl: ephemeral },
      ],
      tools: [{ name: "lookup", parameters: { type: "object" }, cacheControl: ephemeral }],
      cacheControl: ephemeral,
    }, opts());
    const body = sent(mock);
    // With a marker among them, system messages stay separate blocks so it stays in place.
    assert.deepEqual(body.system, [
      { type: "text", text: "You are terse.", cache_control: ephemeral },
      { type: "text", text: "Answer in English." },
    ]);
    assert.deepEqual(body.messages[0].content, [
      { type: "text", text: "Look:", cache_control: { type: "ephemeral", ttl: "1h" } },
      {
        type: "image",
        source: { type: "url", url: "https://example.com/a.png" },
        cache_control: ephemeral,
      },
    ]);
    assert.deepEqual(body.messages[2].content, [
      { type: "tool_result", tool_use_id: "toolu_1", content: "found", cache_control: ephemeral },
    ]);
    assert.deepEqual((body.tools as unknown[])[0], {
      name: "lookup",
      input_schema: { type: "object" },
      cache_control: ephemeral,
    });
    assert.deepEqual(body.cache_control, ephemeral);
  });
});

Deno.test("anthropic adapter: a marked prefix is written to the cache once, then read", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const request: LLMChatRequest = {
      messages: [
        {
          role: "system",
          content: "Reference manual. ".repeat(200),
          cacheControl: { type: "ephemeral" },
        },
        { role: "user", content: "What does chapter 2 say?" },
      ],
    };
    const cold = await adapter.chat(request, opts());
    const warm = await adapter.chat(request, opts());
    assert.ok(cold.usage.cacheWriteTokens > 0);
    assert.equal(cold.usage.cachedInputTokens, 0);
    assert.equal(warm.usage.cachedInputTokens, cold.usage.cacheWriteTokens);
    assert.equal(warm.usage.cacheWriteTokens, 0);
    // Our input tokens count cached and written tokens too: the same prompt, the same total.
    assert.equal(warm.usage.inputTokens, cold.usage.inputTokens);
  });
});

Deno.test("anthropic adapter: a Messages body's own thinking and output_config override the mapped ones", async () => {
  await withMock(async (mock) => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };
    await adapterFor(mock).chat(
      ask("hi", {
        maxTokens: 8_000,
        reasoning: { budgetTokens: 2_048, effort: "low" },
        responseFormat: { type: "json_schema", name: "a", schema },
        passthrough: {
          anthropic: {
            thinking: { type: "enabled", budget_tokens: 3_000, display: "omitted" },
            output_config: { effort: "medium" },
            // The request's own fields are never replaced.
            model: "claude-other",
            max_tokens: 1,
            stream: true,
          },
        },
      }),
      opts(),
    );
    const body = sent(mock);
    assert.deepEqual(body.thinking, { type: "enabled", budget_tokens: 3_000, display: "omitted" });
    assert.deepEqual(body.output_config, {
      format: { type: "json_schema", schema },
      effort: "medium",
    });
    assert.equal(body.model, MODEL);
    assert.equal(body.max_tokens, 8_000);
    assert.equal(body.stream, undefined);
  });
});

Deno.test("anthropic adapter: streamed and JSON answers record the same usage and cost, cache and thinking tokens included", async () => {
  await withMock(async (mock) => {
    const adapter = adapterFor(mock);
    const model = BUILT_IN_MODELS.find((m) => m.id === MODEL)!;
    const request: LLMChatRequest = {
      messages: [
        {
          role: "system",
          content: "Style guide. ".repeat(300),
          cacheControl: { type: "ephemeral" },
        },
        { role: "user", content: "Summarize it" },
      ],
      maxTokens: 4_000,
      reasoning: { budgetTokens: 1_024 },
    };
    const usageOf = async (streamed: boolean) => {
      if (!streamed) return (await adapter.chat(request, opts())).usage;
      const finish = (await collect(adapter.stream(request, opts()))).at(-1)!;
      assert.equal(finish.type, "finish");
      return finish.type === "finish" ? finish.usage : undefined!;
    };
    // A cold cache (written) and a warm one (read), each both ways.
    const coldJson = await usageOf(false);
    mock.reset();
    const coldStream = await usageOf(true);
    const warmJson = await usageOf(false);
    const warmStream = await usageOf(true);

    assert.ok(coldJson.cacheWriteTokens > 0 && warmJson.cachedInputTokens > 0);
    assert.ok(coldJson.reasoningTokens! > 0);
    assert.deepEqual(coldStream, coldJson);
    assert.deepEqual(warmStream, warmJson);
    assert.equal(costOf(model, coldStream), costOf(model, coldJson));
    assert.equal(costOf(model, warmStream), costOf(model, warmJson));
    // Read from the cache, the same prompt costs less.
    assert.ok(costOf(model, warmJson) < costOf(model, coldJson));
  });
});

Deno.test("anthropic adapter: an assistant turn's cache mark lands on its last block; a failed tool result carries is_error", async () => {
  await withMock(async (mock) => {
    await adapterFor(mock).chat({
      messages: [
        { role: "user", content: "look it up" },
        {
          role: "assistant",
          content: "Looking.",
          toolCalls: [{ id: "toolu_1", name: "lookup", arguments: '{"q":"x"}' }],
          reasoning: [{ type: "redacted_thinking", data: "opaque" }],
          cacheControl: { type: "ephemeral" },
        },
        { role: "tool", toolCallId: "toolu_1", content: "timed out", isError: true },
      ],
      tools: [{ name: "lookup", parameters: { type: "object" } }],
    }, opts());
    const body = sent(mock);
    assert.deepEqual(body.messages[1].content, [
      { type: "redacted_thinking", data: "opaque" },
      { type: "text", text: "Looking." },
      {
        type: "tool_use",
        id: "toolu_1",
        name: "lookup",
        input: { q: "x" },
        cache_control: { type: "ephemeral" },
      },
    ]);
    assert.deepEqual(body.messages[2].content, [
      { type: "tool_result", tool_use_id: "toolu_1", content: "timed out", is_error: true },
    ]);
  });
});
