/** The response cache's key, size limit, and stream capture and replay. */
import assert from "node:assert/strict";
import {
  replayEvents,
  ResponseCache,
  responseCacheKey,
  StreamedAnswer,
} from "../supabase/functions/_shared/guards/response-cache.ts";
import type { RouteRequest } from "../supabase/functions/_shared/llm/route-types.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import type { LLMStreamEvent } from "../supabase/functions/_shared/llm/types.ts";

const request = (chat: Partial<RouteRequest["chat"]> = {}, extra: Partial<RouteRequest> = {}) =>
  ({
    useCase: "general",
    chat: { messages: [{ role: "user", content: "hello" }], temperature: 0, ...chat },
    ...extra,
  }) as RouteRequest;

Deno.test("cache key: equal requests hash equally whatever their key order; any change changes it", async () => {
  const a = await responseCacheKey("acct:1", request({ temperature: 0, maxTokens: 10 }));
  const b = await responseCacheKey("acct:1", {
    chat: { maxTokens: 10, messages: [{ content: "hello", role: "user" }], temperature: 0 },
    useCase: "general",
  } as RouteRequest);
  assert.equal(a, b);
  assert.match(a, /^cache:acct:1:[0-9a-f]{64}$/);
  const variants = [
    request({ temperature: 0.5, maxTokens: 10 }),
    request({ temperature: 0, maxTokens: 11 }),
    request({ messages: [{ role: "user", content: "hello!" }], temperature: 0, maxTokens: 10 }),
    request({ temperature: 0, maxTokens: 10 }, { modelOverride: "gpt-4o" }),
    request({ temperature: 0, maxTokens: 10 }, { agentId: "bot" }),
    request({
      temperature: 0,
      maxTokens: 10,
      tools: [{ name: "f", description: "", parameters: {} }],
    }),
  ];
  for (const variant of variants) {
    assert.notEqual(await responseCacheKey("acct:1", variant), a);
  }
});

Deno.test("cache key: the account scopes it; the end-user label does not", async () => {
  const base = request({ maxTokens: 5 });
  assert.notEqual(
    await responseCacheKey("acct:1", base),
    await responseCacheKey("acct:2", base),
  );
  assert.equal(
    await responseCacheKey("acct:1", base),
    await responseCacheKey("acct:1", request({ maxTokens: 5, user: "end-user-7" })),
  );
});

Deno.test("response cache: answers round-trip; one larger than the limit is not kept", async () => {
  const cache = new ResponseCache(new MemoryStateStore(), 60_000, 1_000);
  const answer = {
    text: "hi",
    toolCalls: [],
    finishReason: "stop" as const,
    usage: { inputTokens: 3, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0 },
    provider: "openai",
    model: "gpt-4o-mini",
  };
  assert.equal(await cache.put("k", answer, 42), true);
  assert.deepEqual(await cache.get("k"), { ...answer, cachedAt: 42 });
  assert.equal(await cache.put("big", { ...answer, text: "x".repeat(2_000) }, 42), false);
  assert.equal(await cache.get("big"), undefined);
});

Deno.test("stream capture: deltas become the answer, and its replay is the same answer", () => {
  const events: LLMStreamEvent[] = [
    { type: "start", provider: "openai", model: "gpt-4o-mini" },
    { type: "text-delta", text: "Hel" },
    { type: "text-delta", text: "lo" },
    { type: "tool-call-delta", index: 1, id: "call_b", name: "b", argumentsDelta: '{"y"' },
    { type: "tool-call-delta", index: 0, id: "call_a", name: "a", argumentsDelta: "{}" },
    { type: "tool-call-delta", index: 1, argumentsDelta: ":2}" },
    {
      type: "finish",
      finishReason: "tool_calls",
      usage: { inputTokens: 9, outputTokens: 4, cachedInputTokens: 0, cacheWriteTokens: 0 },
    },
  ];
  const capture = new StreamedAnswer();
  for (const event of events.slice(0, -1)) capture.observe(event);
  assert.equal(capture.answer(), undefined, "no answer before the stream finished");
  capture.observe(events.at(-1)!);
  const answer = capture.answer()!;
  assert.equal(answer.text, "Hello");
  assert.deepEqual(answer.toolCalls, [
    { id: "call_a", name: "a", arguments: "{}" },
    { id: "call_b", name: "b", arguments: '{"y":2}' },
  ]);
  const again = new StreamedAnswer();
  for (const event of replayEvents(answer)) again.observe(event);
  assert.deepEqual(again.answer(), answer);
});

Deno.test("stream capture: reasoning is kept with its signatures and replayed before the text", async () => {
  const events: LLMStreamEvent[] = [
    { type: "start", provider: "anthropic", model: "claude-sonnet-4-6" },
    { type: "reasoning-redacted", data: "redacted-abc" },
    { type: "reasoning-delta", text: "Think" },
    { type: "reasoning-delta", text: "ing." },
    { type: "reasoning-signature", signature: "sig_1" },
    { type: "text-delta", text: "Answer" },
    {
      type: "finish",
      finishReason: "stop",
      usage: {
        inputTokens: 9,
        outputTokens: 14,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 10,
      },
    },
  ];
  const capture = new StreamedAnswer();
  for (const event of events) capture.observe(event);
  const answer = capture.answer()!;
  assert.deepEqual(answer.reasoning, [
    { type: "redacted_thinking", data: "redacted-abc" },
    { type: "thinking", text: "Thinking.", signature: "sig_1" },
  ]);
  // Stored and read back through the cache, then replayed as a stream: the same events' meaning.
  const cache = new ResponseCache(new MemoryStateStore(), 60_000);
  await cache.put("k", answer, 0);
  const replayed = replayEvents((await cache.get("k"))!);
  assert.deepEqual(
    replayed.filter((e) => e.type.startsWith("reasoning")),
    [
      { type: "reasoning-redacted", data: "redacted-abc" },
      { type: "reasoning-delta", text: "Thinking." },
      { type: "reasoning-signature", signature: "sig_1" },
    ],
  );
  const again = new StreamedAnswer();
  for (const event of replayed) again.observe(event);
  assert.deepEqual(again.answer(), answer);
});
