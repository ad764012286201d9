/**
 * Token budgeting: counting (with a deterministic word counter and with the
 * real gpt-tokenizer), the UTF-8 fast path and lazy loading, and trimming to
 * the context window.
 */
import assert from "node:assert/strict";
import { type CatalogModel, ModelCatalog } from "../supabase/functions/_shared/llm/catalog.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import {
  type EncoderFamily,
  type EncoderLoader,
  IMAGE_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  SUMMARY_PREFIX,
  TokenBudgetManager,
} from "../supabase/functions/_shared/llm/tokens.ts";
import { utf8Length } from "../supabase/functions/_shared/llm/token-count.ts";
import { loadGptTokenizer } from "../supabase/functions/_shared/tokenizer/gpt-tokenizer.ts";
import type { LLMMessage, LLMTool } from "../supabase/functions/_shared/llm/types.ts";

/** One token per whitespace-separated word: never more than the UTF-8 bytes, like a real BPE. */
const countWords = (text: string) => text.split(/\s+/).filter(Boolean).length;

function wordLoader(calls: EncoderFamily[] = []): EncoderLoader {
  return (family) => {
    calls.push(family);
    return Promise.resolve(countWords);
  };
}

/** `n` words: the label first, so messages are told apart in failures. */
function words(n: number, label = "w"): string {
  return [label, ...Array.from({ length: n - 1 }, () => "w")].join(" ");
}

function testModel(overrides: Partial<CatalogModel> = {}): CatalogModel {
  return {
    id: "test-model",
    provider: "test",
    contextWindow: 1_000,
    maxOutputTokens: 100,
    prices: { input: 1, output: 1, cachedInput: 1, cacheWrite: 1 },
    capabilities: { chat: true, tools: true, vision: true, json: true, embeddings: false },
    tokenizer: "o200k",
    ...overrides,
  };
}

/** A model whose input budget is exactly `available` for requests with maxTokens 100 and margin 0. */
function modelWithRoom(available: number, overrides: Partial<CatalogModel> = {}): CatalogModel {
  return testModel({ contextWindow: available + 100, ...overrides });
}

const NO_MARGIN = { marginTokens: 0 };
const system = (content: string): LLMMessage => ({ role: "system", content });
const user = (content: string, pinned?: boolean): LLMMessage => ({ role: "user", content, pinned });
const assistant = (content: string, pinned?: boolean): LLMMessage => ({
  role: "assistant",
  content,
  pinned,
});

// ---------------------------------------------------------------- counting

Deno.test("tokens: a message costs the fixed overhead plus its text", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const count = await manager.countMessages([user(words(10)), assistant(words(3))], testModel());
  assert.equal(count, 2 * MESSAGE_OVERHEAD_TOKENS + 13);
});

Deno.test("tokens: each image counts a fixed 1,000 tokens, whatever its URL", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const dataUrl = `data:image/png;base64,${"A".repeat(50_000)}`;
  const message: LLMMessage = {
    role: "user",
    content: [
      { type: "text", text: "what is in these" },
      { type: "image", url: dataUrl, detail: "high" },
      { type: "image", url: "https://example.com/cat.png" },
    ],
  };
  assert.equal(IMAGE_TOKENS, 1_000);
  assert.equal(await manager.countMessages([message], testModel()), 4 + 4 + 2 * 1_000);
});

Deno.test("tokens: assistant tool calls count name and arguments; tool results count their text", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages: LLMMessage[] = [
    {
      role: "assistant",
      content: null,
      toolCalls: [{ id: "call_1", name: "lookup", arguments: '{"q": "two words"}' }],
    },
    { role: "tool", toolCallId: "call_1", content: "three word result" },
  ];
  assert.equal(await manager.countMessages(messages, testModel()), 4 + 1 + 3 + 4 + 3);
});

Deno.test("tokens: tool definitions count their JSON text", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const tool: LLMTool = {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  };
  const count = await manager.countMessages([], testModel(), [tool]);
  assert.equal(count, countWords(JSON.stringify(tool)));
  assert.equal(
    await manager.countMessages([user("hi")], testModel(), [tool]),
    count + MESSAGE_OVERHEAD_TOKENS + 1,
  );
});

Deno.test("tokens: approx models count o200k × the multiplier, rounded up", async () => {
  const calls: EncoderFamily[] = [];
  const messages = [user(words(10))]; // 14 base tokens
  const approx = testModel({ tokenizer: "approx" });
  const byDefault = new TokenBudgetManager({ loadEncoder: wordLoader(calls) });
  assert.equal(await byDefault.countMessages(messages, approx), 17); // ceil(16.8)
  const custom = new TokenBudgetManager({ loadEncoder: wordLoader(), approxMultiplier: 1.5 });
  assert.equal(await custom.countMessages(messages, approx), 21);
  assert.deepEqual(calls, ["o200k"]);
});

Deno.test("tokens: a non-positive or non-finite multiplier is refused", () => {
  assert.throws(
    () => new TokenBudgetManager({ loadEncoder: wordLoader(), approxMultiplier: 0 }),
    RangeError,
  );
  assert.throws(
    () => new TokenBudgetManager({ loadEncoder: wordLoader(), approxMultiplier: Number.NaN }),
    RangeError,
  );
});

// ------------------------------------------------------- fast path, laziness

Deno.test("tokens: a small request fits on its byte size without ever loading the tokenizer", async () => {
  const calls: EncoderFamily[] = [];
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader(calls) });
  const messages = [system("Be brief."), user("hello there")];
  for (const tokenizer of ["o200k", "cl100k", "approx"] as const) {
    const result = await manager.fit({ messages }, testModel({ tokenizer }));
    assert.equal(result.estimatedBy, "bytes");
    assert.equal(result.droppedCount, 0);
    assert.deepEqual(result.messages, messages);
  }
  assert.deepEqual(calls, []);
  const bound = await manager.fit({ messages }, testModel());
  // The free bound: at most 3 UTF-8 bytes per UTF-16 code unit.
  assert.equal(bound.inputTokens, 2 * MESSAGE_OVERHEAD_TOKENS + 3 * "Be brief.hello there".length);
  assert.ok(bound.inputTokens >= 2 * MESSAGE_OVERHEAD_TOKENS + utf8Length("Be brief.hello there"));
});

Deno.test("tokens: a request near its budget loads the tokenizer once and reuses it", async () => {
  const calls: EncoderFamily[] = [];
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader(calls) });
  const messages = [user(words(30))]; // 34 tokens, 63 bytes with the overhead
  const model = modelWithRoom(50);
  const first = await manager.fit({ messages, maxTokens: 100 }, model, NO_MARGIN);
  const second = await manager.fit({ messages, maxTokens: 100 }, model, NO_MARGIN);
  assert.equal(first.estimatedBy, "tokenizer");
  assert.equal(first.inputTokens, 34);
  assert.equal(second.inputTokens, 34);
  assert.deepEqual(calls, ["o200k"]);
});

Deno.test("tokens: constructing a manager loads nothing", () => {
  const calls: EncoderFamily[] = [];
  new TokenBudgetManager({ loadEncoder: wordLoader(calls) });
  assert.deepEqual(calls, []);
});

Deno.test("tokens: counts racing for a cold tokenizer share one load per family", async () => {
  const calls: EncoderFamily[] = [];
  const manager = new TokenBudgetManager({
    loadEncoder: async (family) => {
      calls.push(family);
      await new Promise((resolve) => setTimeout(resolve, 10));
      return countWords;
    },
  });
  const messages = [user("one two three")];
  const counts = await Promise.all([
    manager.countMessages(messages, testModel()),
    manager.countMessages(messages, testModel({ tokenizer: "approx" })),
    manager.countText("one two", testModel()),
    manager.countMessages(messages, testModel({ tokenizer: "cl100k" })),
  ]);
  assert.deepEqual(counts, [7, 9, 2, 7]);
  assert.deepEqual(calls.sort(), ["cl100k", "o200k"]);
});

Deno.test("tokens: a failed load is not cached; the next count tries again", async () => {
  let attempts = 0;
  const manager = new TokenBudgetManager({
    loadEncoder: () => {
      attempts++;
      return attempts === 1
        ? Promise.reject(new Error("no wasm today"))
        : Promise.resolve(countWords);
    },
  });
  await assert.rejects(manager.countText("a b", testModel()), /no wasm today/);
  assert.equal(await manager.countText("a b", testModel()), 2);
  assert.equal(attempts, 2);
});

Deno.test("tokens: gpt-tokenizer is only imported dynamically, with literal specifiers, by its binding", async () => {
  const binding = "../supabase/functions/_shared/tokenizer/gpt-tokenizer.ts";
  for (const file of ["llm/tokens.ts", "llm/token-count.ts", "tokenizer/gpt-tokenizer.ts"]) {
    const url = new URL(`../supabase/functions/_shared/${file}`, import.meta.url);
    const source = await Deno.readTextFile(url);
    assert.doesNotMatch(source, /^\s*(import|export)[^(]*["']gpt-tokenizer/m, file);
  }
  const source = await Deno.readTextFile(new URL(binding, import.meta.url));
  assert.match(source, /import\("gpt-tokenizer\/encoding\/o200k_base"\)/);
  assert.match(source, /import\("gpt-tokenizer\/encoding\/cl100k_base"\)/);
});

// ------------------------------------------------------------------ fitting

Deno.test("fit: keeps system, pinned and the last user turn, drops the oldest turns, keeps order", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = [
    system(words(10, "sys")),
    user(words(10, "u1")),
    assistant(words(10, "a1")),
    user(words(10, "pinned"), true),
    assistant(words(10, "a2")),
    user(words(10, "u3")),
    assistant(words(10, "a3")),
    user(words(10, "question")),
  ]; // 14 tokens each, 112 in all
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(60), NO_MARGIN);
  assert.deepEqual(result.messages, [messages[0], messages[3], messages[6], messages[7]]);
  result.messages.forEach((message, i) =>
    assert.equal(message, [0, 3, 6, 7].map((j) => messages[j])[i])
  );
  assert.equal(result.droppedCount, 4);
  assert.equal(result.inputTokens, 56);
  assert.equal(result.summarized, false);
  assert.equal(result.maxTokens, 100);
  assert.equal(messages.length, 8, "the request's array is not modified");
});

Deno.test("fit: everything from the last user message on stays, even an agent loop's tool rounds", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages: LLMMessage[] = [
    user(words(20, "old")),
    user(words(5, "question")),
    {
      role: "assistant",
      content: null,
      toolCalls: [{ id: "c1", name: "search", arguments: "{}" }],
    },
    { role: "tool", toolCallId: "c1", content: words(5, "result") },
    assistant(words(5, "thinking")),
  ];
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(40), NO_MARGIN);
  assert.deepEqual(result.messages, messages.slice(1));
  assert.equal(result.droppedCount, 1);
});

Deno.test("fit: a tool call and its results are dropped together, never split", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages: LLMMessage[] = [
    system(words(10, "sys")),
    user(words(10, "u1")),
    {
      role: "assistant",
      content: null,
      toolCalls: [
        { id: "a", name: "lookup", arguments: '{"q":1}' },
        { id: "b", name: "lookup", arguments: '{"q":2}' },
      ],
    }, // 8 tokens
    { role: "tool", toolCallId: "a", content: words(10, "ra") },
    { role: "tool", toolCallId: "b", content: words(10, "rb") },
    assistant(words(10, "answer")),
    user(words(10, "question")),
  ]; // 92 tokens
  // Dropping u1, the call and result "a" would reach 56 and fit, but would strand result "b".
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(60), NO_MARGIN);
  assert.deepEqual(result.messages, [messages[0], messages[5], messages[6]]);
  assert.equal(result.droppedCount, 4);
  assert.equal(result.inputTokens, 42);
});

Deno.test("fit: a pinned assistant keeps its tool results with it", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages: LLMMessage[] = [
    {
      role: "assistant",
      content: "pinned call",
      toolCalls: [{ id: "p", name: "fetch", arguments: "{}" }],
      pinned: true,
    },
    { role: "tool", toolCallId: "p", content: words(10, "kept") },
    user(words(20, "old")),
    user(words(5, "question")),
  ];
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(40), NO_MARGIN);
  assert.deepEqual(result.messages, [messages[0], messages[1], messages[3]]);
});

Deno.test("fit: nothing to drop returns the same messages, and summarize is not called", async () => {
  let summaries = 0;
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = [system(words(10)), user(words(10)), assistant(words(10)), user(words(10))];
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(56), {
    marginTokens: 0,
    summarize: () => {
      summaries++;
      return Promise.resolve("never");
    },
  });
  assert.equal(result.estimatedBy, "tokenizer");
  assert.equal(result.droppedCount, 0);
  assert.equal(result.inputTokens, 56);
  assert.equal(result.messages.length, messages.length);
  result.messages.forEach((message, i) => assert.equal(message, messages[i]));
  assert.equal(summaries, 0);
});

Deno.test("fit: tool definitions take part of the budget", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const tool: LLMTool = {
    name: "t",
    description: words(20),
    parameters: { type: "object" },
  };
  const toolTokens = countWords(JSON.stringify(tool));
  const messages = [user(words(10, "old")), user(words(10, "question"))];
  const result = await manager.fit(
    { messages, tools: [tool], maxTokens: 100 },
    modelWithRoom(14 + toolTokens),
    NO_MARGIN,
  );
  assert.deepEqual(result.messages, [messages[1]]);
  assert.equal(result.inputTokens, 14 + toolTokens);
});

/** Two leading system messages, four droppable turns and the question: 14 tokens each. */
function summaryConversation(): LLMMessage[] {
  return [
    system(words(10, "sysA")),
    system(words(10, "sysB")),
    user(words(10, "u1")),
    assistant(words(10, "a1")),
    user(words(10, "u2")),
    assistant(words(10, "a2")),
    user(words(10, "question")),
  ];
}

/** "Summary of the earlier conversation:\nshort recap" is 7 words: 11 tokens with the overhead. */
const RECAP = "short recap";

Deno.test("fit: the summary goes right after the leading system messages; summarize gets the dropped turns once", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = summaryConversation();
  const seen: LLMMessage[][] = [];
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(82), {
    marginTokens: 0,
    summarize: (dropped) => {
      seen.push(dropped);
      return Promise.resolve(RECAP);
    },
  });
  assert.deepEqual(seen, [[messages[2], messages[3]]]);
  assert.deepEqual(result.messages, [
    messages[0],
    messages[1],
    { role: "system", content: `${SUMMARY_PREFIX}${RECAP}` },
    messages[4],
    messages[5],
    messages[6],
  ]);
  assert.equal(SUMMARY_PREFIX, "Summary of the earlier conversation:\n");
  assert.equal(result.summarized, true);
  assert.equal(result.droppedCount, 2);
  assert.equal(result.inputTokens, 70 + 11);
});

Deno.test("fit: a summary that does not fit makes more turns go", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = summaryConversation();
  let calls = 0;
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(70), {
    marginTokens: 0,
    summarize: (dropped) => {
      calls++;
      assert.deepEqual(dropped, [messages[2], messages[3]]);
      return Promise.resolve(RECAP);
    },
  });
  assert.equal(calls, 1);
  assert.deepEqual(result.messages.map((m) => m.content), [
    messages[0].content,
    messages[1].content,
    `${SUMMARY_PREFIX}${RECAP}`,
    messages[5].content,
    messages[6].content,
  ]);
  assert.equal(result.droppedCount, 3);
  assert.equal(result.inputTokens, 67);
});

Deno.test("fit: a summary with no room at all is left out; the plain trim stands", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = summaryConversation();
  const result = await manager.fit({ messages, maxTokens: 100 }, modelWithRoom(45), {
    marginTokens: 0,
    summarize: () => Promise.resolve(RECAP),
  });
  assert.deepEqual(result.messages, [messages[0], messages[1], messages[6]]);
  assert.equal(result.summarized, false);
  assert.equal(result.droppedCount, 4);
});

Deno.test("fit: a failing summarize still fits by trimming", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = summaryConversation();
  const model = modelWithRoom(70);
  const plain = await manager.fit({ messages, maxTokens: 100 }, model, NO_MARGIN);
  const result = await manager.fit({ messages, maxTokens: 100 }, model, {
    marginTokens: 0,
    summarize: () => Promise.reject(new Error("summary model down")),
  });
  assert.deepEqual(result, plain);
  assert.deepEqual(result.messages, [
    messages[0],
    messages[1],
    messages[4],
    messages[5],
    messages[6],
  ]);
  assert.equal(result.summarized, false);
});

Deno.test("fit: when even the kept messages do not fit, TOKEN_LIMIT_EXCEEDED (400) says by how much", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = [system(words(10)), user(words(10, "old")), user(words(10, "question"))];
  const model = modelWithRoom(20, { id: "tiny-model" });
  await assert.rejects(
    manager.fit({ messages, maxTokens: 100 }, model, NO_MARGIN),
    (error: unknown) => {
      assert.ok(error instanceof LLMError);
      assert.equal(error.code, "TOKEN_LIMIT_EXCEEDED");
      assert.equal(error.status, 400);
      assert.equal(error.details.neededTokens, 28);
      assert.equal(error.details.availableTokens, 20);
      assert.equal(error.details.model, "tiny-model");
      assert.match(error.message, /28 input tokens/);
      assert.match(error.message, /room for 20/);
      return true;
    },
  );
});

Deno.test("fit: an output reserve as large as the window leaves no room", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const model = testModel({ contextWindow: 1_000, maxOutputTokens: 1_000 });
  await assert.rejects(
    manager.fit({ messages: [user("hi")], maxTokens: 1_000 }, model),
    (error: unknown) =>
      error instanceof LLMError && error.code === "TOKEN_LIMIT_EXCEEDED" &&
      error.details.availableTokens === 0,
  );
});

Deno.test("fit: maxTokens is clamped to the model's max output; the default is min(max output, 4096)", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = [user("hi")];
  const big = testModel({ contextWindow: 128_000, maxOutputTokens: 16_384 });
  const small = testModel({ contextWindow: 8_000, maxOutputTokens: 1_000 });
  assert.equal((await manager.fit({ messages, maxTokens: 1_000_000 }, big)).maxTokens, 16_384);
  assert.equal((await manager.fit({ messages, maxTokens: 500 }, big)).maxTokens, 500);
  assert.equal((await manager.fit({ messages }, big)).maxTokens, 4_096);
  assert.equal((await manager.fit({ messages }, small)).maxTokens, 1_000);
  // Clamped, the reserve leaves room that the requested 1,000,000 would not.
  const tight = testModel({ contextWindow: 400, maxOutputTokens: 100 });
  const fitted = await manager.fit({ messages: [user(words(40))], maxTokens: 5_000 }, tight, {
    marginTokens: 0,
  });
  assert.equal(fitted.maxTokens, 100);
  assert.equal(fitted.droppedCount, 0);
});

Deno.test("fit: approx models budget with the multiplier", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: wordLoader() });
  const messages = [user(words(10, "old")), user(words(10, "question"))]; // 28 base tokens
  const approx = modelWithRoom(30, { tokenizer: "approx" });
  const result = await manager.fit({ messages, maxTokens: 100 }, approx, NO_MARGIN);
  assert.deepEqual(result.messages, [messages[1]]); // 28 × 1.2 = 34 would not fit
  assert.equal(result.inputTokens, 17);
});

// ---------------------------------------------------- the real tokenizers

const catalog = new ModelCatalog();
const gpt4o = catalog.get("gpt-4o")!;
const embeddingSmall = catalog.get("text-embedding-3-small")!;
const claude = catalog.get("claude-sonnet-4-6")!;
const FOX = "Hello, world! The quick brown fox jumps over the lazy dog.";

Deno.test("tokens (gpt-tokenizer): o200k counts are the known values", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: loadGptTokenizer });
  assert.equal(gpt4o.tokenizer, "o200k");
  assert.equal(await manager.countText(FOX, gpt4o), 14);
  assert.equal(await manager.countMessages([user(FOX)], gpt4o), 18);
});

Deno.test("tokens (gpt-tokenizer): cl100k and o200k differ; approx is ceil(o200k × 1.2)", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: loadGptTokenizer });
  const japanese = "日本語のテキストです。";
  assert.equal(embeddingSmall.tokenizer, "cl100k");
  assert.equal(await manager.countText(japanese, gpt4o), 8);
  assert.equal(await manager.countText(japanese, embeddingSmall), 10);
  assert.equal(claude.tokenizer, "approx");
  const messages = [system("Answer in one line."), user(FOX), user(japanese)];
  const o200k = await manager.countMessages(messages, gpt4o);
  assert.equal(await manager.countMessages(messages, claude), Math.ceil(o200k * 1.2));
});

Deno.test("tokens (gpt-tokenizer): a text's UTF-8 length never falls below its token count", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: loadGptTokenizer });
  const texts = [
    "a",
    " ",
    "\n\n\n",
    "        ",
    "façade naïve",
    "日本語のテキストです。",
    "emoji 🎉👍🏽 and a lone \ud800 surrogate",
    "0123456789".repeat(20),
    FOX,
  ];
  for (const text of texts) {
    for (const model of [gpt4o, embeddingSmall]) {
      const tokens = await manager.countText(text, model);
      assert.ok(tokens <= utf8Length(text), `${JSON.stringify(text)} ${model.tokenizer}`);
    }
  }
});

Deno.test("tokens (gpt-tokenizer): special-token text in user input is counted, not thrown on", async () => {
  const manager = new TokenBudgetManager({ loadEncoder: loadGptTokenizer });
  const count = await manager.countText("ignore this <|endoftext|> and <|im_start|>", gpt4o);
  assert.ok(count > 4, String(count));
});
