/** BYOK: a tenant's keys serve only that tenant's router; tools and embeddings. */
import assert from "node:assert/strict";
import { ToolRegistry } from "../supabase/functions/_shared/llm/tools.ts";
import { ask, never, PLATFORM_KEYS, routerWorld } from "./helpers/router-world.ts";

Deno.test("byok: a tenant router uses the tenant's key; the shared router keeps the platform's", async () => {
  const world = routerWorld();
  const tenant = world.router.withApiKeys({ openai: "sk-tenant-a-key" }, "account:a");
  await tenant.chat(ask(), never());
  await world.router.chat(ask(), never());
  await tenant.chat(ask(), never());
  assert.deepEqual(world.fakes.calls.map((c) => c.apiKey), [
    "sk-tenant-a-key",
    PLATFORM_KEYS.openai,
    "sk-tenant-a-key",
  ]);
  const other = world.router.withApiKeys({ openai: "sk-tenant-b-key" }, "account:b");
  await other.chat(ask(), never());
  assert.equal(world.fakes.calls.at(-1)!.apiKey, "sk-tenant-b-key");
});

Deno.test("byok: a tenant's failing key opens only that tenant's circuit", async () => {
  const world = routerWorld((config) => {
    config.retry.maxRetries = 0;
    config.breaker = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
  });
  const tenant = world.router.withApiKeys({ openai: "sk-tenant-a-key" }, "account:a");
  world.fakes.script("gpt-4o-mini", { error: "RATE_LIMIT" });
  assert.equal((await tenant.chat(ask(), never())).model, "claude-haiku-4-5");
  // Separate routers keep separate state: the platform circuit for gpt-4o-mini is still closed.
  assert.equal((await world.router.chat(ask(), never())).model, "gpt-4o-mini");
});

Deno.test("tool loop: registered tools run and their results go back until the model answers", async () => {
  const executed: unknown[] = [];
  const tools = new ToolRegistry([{
    definition: {
      name: "get_weather",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
    execute: (args) => {
      executed.push(args);
      return Promise.resolve({ forecast: "sunny" });
    },
  }]);
  const world = routerWorld(() => {}, { tools });
  world.fakes.script(
    "gpt-4o-mini",
    { text: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
    { text: "It is sunny in Oslo." },
  );
  const result = await world.router.chatWithTools(ask("weather in Oslo?"), 5, never());
  assert.equal(result.text, "It is sunny in Oslo.");
  assert.equal(result.steps, 2);
  assert.deepEqual(executed, [{ city: "Oslo" }]);
  const second = world.fakes.calls[1].request as { messages: { role: string; content: unknown }[] };
  assert.deepEqual(second.messages.map((m) => m.role), ["user", "assistant", "tool"]);
  assert.equal(second.messages[2].content, '{"forecast":"sunny"}');
  assert.equal(result.usage.inputTokens, 200, "usage is summed over steps");
  assert.ok(result.costUsd > 0);
});

Deno.test("tool loop: a tool the server does not have is returned to the caller; maxSteps caps the loop", async () => {
  const world = routerWorld(() => {}, { tools: new ToolRegistry() });
  world.fakes.script("gpt-4o-mini", {
    text: "",
    toolCalls: [{ id: "c1", name: "client_side", arguments: "{}" }],
  });
  const returned = await world.router.chatWithTools(ask(), 5, never());
  assert.equal(returned.toolCalls[0].name, "client_side");
  assert.equal(returned.steps, 1);

  const loops = new ToolRegistry([{
    definition: { name: "again", parameters: {} },
    execute: () => Promise.resolve("more"),
  }]);
  const capped = routerWorld(() => {}, { tools: loops });
  for (let i = 0; i < 5; i++) {
    capped.fakes.script("gpt-4o-mini", {
      text: "",
      toolCalls: [{ id: `c${i}`, name: "again", arguments: "{}" }],
    });
  }
  const result = await capped.router.chatWithTools(ask(), 3, never());
  assert.equal(result.steps, 3);
  assert.equal(capped.fakes.calls.length, 3);
});

Deno.test("tool loop: invalid JSON arguments are reported back to the model, not thrown", async () => {
  const tools = new ToolRegistry([{
    definition: { name: "t", parameters: {} },
    execute: () => Promise.resolve("never"),
  }]);
  const world = routerWorld(() => {}, { tools });
  world.fakes.script("gpt-4o-mini", {
    text: "",
    toolCalls: [{ id: "c1", name: "t", arguments: "{not json" }],
  }, { text: "done" });
  const result = await world.router.chatWithTools(ask(), 3, never());
  assert.equal(result.text, "done");
  const toolMessage =
    (world.fakes.calls[1].request as { messages: { content: string }[] }).messages[2];
  assert.match(toolMessage.content, /not valid JSON/);
});

Deno.test("embeddings: routed to the embedding chain; fallback only to the same vector size", async () => {
  const world = routerWorld((config) => {
    config.retry.maxRetries = 0;
    config.useCaseChains.embedding = [
      "text-embedding-3-small",
      "gemini-embedding-001",
      "text-embedding-3-large",
    ];
  });
  const ok = await world.router.embed({ input: ["a", "b"] }, never());
  assert.equal(ok.model, "text-embedding-3-small");
  assert.equal(ok.embeddings.length, 2);
  world.fakes.script("text-embedding-3-small", { error: "PROVIDER_ERROR" });
  // gemini-embedding-001 (3072) and text-embedding-3-large (3072) differ from the first choice's 1536.
  await assert.rejects(world.router.embed({ input: ["a"] }, never()));
  assert.ok(!world.fakes.calls.some((c) => c.model !== "text-embedding-3-small"));
});
