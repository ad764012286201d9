/** Router unit tests: which targets are chosen, in which order, and which are left out. */
import assert from "node:assert/strict";
import { StaticPreferences } from "../supabase/functions/_shared/llm/routing.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import { ask, never, routerWorld } from "./helpers/router-world.ts";

const planned = async (
  world: ReturnType<typeof routerWorld>,
  request: Parameters<typeof world.router.plan>[0],
) => (await world.router.plan(request)).targets.map((t) => t.model.id);

Deno.test("routing: the default chain, minus providers without a key", async () => {
  const world = routerWorld();
  const plan = await world.router.plan(ask());
  assert.deepEqual(plan.targets.map((t) => t.model.id), [
    "gpt-4o-mini",
    "claude-haiku-4-5",
    "gemini-2.5-flash",
  ]);
  assert.equal(plan.candidates.source, "default");
  assert.deepEqual(plan.skipped, [{
    model: "deepseek-chat",
    reason: { kind: "no-key", provider: "deepseek" },
  }]);
});

Deno.test("routing: a use case picks its chain; a tier maps to a use case", async () => {
  const world = routerWorld();
  assert.deepEqual((await planned(world, ask("x", { useCase: "complex" }))).slice(0, 3), [
    "claude-sonnet-4-6",
    "gpt-4.1",
    "gemini-2.5-pro",
  ]);
  assert.deepEqual((await planned(world, ask("x", { tier: "strategy" })))[0], "claude-sonnet-4-6");
  assert.equal(
    (await world.router.plan(ask("x", { tier: "writing" }))).candidates.useCase,
    "draft",
  );
});

Deno.test("routing priority: override > agent preference > account route > use case > default", async () => {
  const preferences = new StaticPreferences(
    {
      "agent-1": { model: "gemini-2.5-pro", fallbacks: ["gpt-4.1"], params: { temperature: 0.1 } },
    },
    { "acct-1": { general: ["claude-sonnet-4-6"] } },
  );
  const world = routerWorld(() => {}, { preferences });
  const base = { useCase: "general" as const };
  const check = async (extra: Record<string, unknown>, first: string, source: string) => {
    const plan = await world.router.plan(ask("x", { ...base, ...extra }));
    assert.equal(plan.targets[0].model.id, first, JSON.stringify(extra));
    assert.equal(plan.candidates.source, source);
  };
  await check(
    { modelOverride: "gpt-4o", agentId: "agent-1", accountId: "acct-1" },
    "gpt-4o",
    "override",
  );
  await check({ agentId: "agent-1", accountId: "acct-1" }, "gemini-2.5-pro", "agent");
  await check({ agentId: "unknown-agent", accountId: "acct-1" }, "claude-sonnet-4-6", "account");
  await check({ accountId: "acct-2" }, "gpt-4o-mini", "use-case");
  // The chosen source comes first; the use case's chain follows as fallbacks, without duplicates.
  assert.deepEqual(await planned(world, ask("x", { agentId: "agent-1" })), [
    "gemini-2.5-pro",
    "gpt-4.1",
    "gpt-4o-mini",
    "claude-haiku-4-5",
    "gemini-2.5-flash",
  ]);
});

Deno.test("routing: an agent's parameters apply where the request leaves them unset", async () => {
  const preferences = new StaticPreferences({
    "agent-1": { model: "gpt-4o-mini", params: { temperature: 0.1, maxTokens: 300 } },
  });
  const world = routerWorld(() => {}, { preferences });
  const plan = await world.router.plan(ask("x", { agentId: "agent-1" }));
  assert.equal(plan.targets[0].request.temperature, 0.1);
  assert.equal(plan.targets[0].request.maxTokens, 300);
  const explicit = await world.router.plan({
    agentId: "agent-1",
    chat: { messages: [{ role: "user", content: "x" }], temperature: 0.9 },
  });
  assert.equal(explicit.targets[0].request.temperature, 0.9);
});

Deno.test("routing: an override without fallback allowed is the only target", async () => {
  const world = routerWorld((config) => (config.overrideFallback = false));
  assert.deepEqual(await planned(world, ask("x", { modelOverride: "gpt-4o" })), ["gpt-4o"]);
});

Deno.test("routing: images need vision, tools need tool use, JSON needs json mode", async () => {
  const world = routerWorld((config) => {
    config.useCaseChains.general = ["mistral-large-latest", "deepseek-reasoner", "gpt-4o-mini"];
  }, { keys: { openai: "k", mistral: "k", deepseek: "k" } });
  const image = await world.router.plan({
    chat: {
      messages: [{
        role: "user",
        content: [{ type: "text", text: "what is this" }, {
          type: "image",
          url: "https://x/y.png",
        }],
      }],
    },
  });
  assert.deepEqual(image.targets.map((t) => t.model.id), ["gpt-4o-mini"]);
  assert.deepEqual(
    image.skipped.find((s) => s.model === "mistral-large-latest")?.reason,
    { kind: "missing-capability", capability: "vision" },
  );
  const tools = await world.router.plan({
    chat: {
      messages: [{ role: "user", content: "x" }],
      tools: [{ name: "t", parameters: { type: "object" } }],
    },
  });
  assert.deepEqual(
    tools.skipped.find((s) => s.model === "deepseek-reasoner")?.reason,
    { kind: "missing-capability", capability: "tools" },
  );
  assert.equal(tools.targets[0].model.id, "mistral-large-latest");
  const json = await world.router.plan({
    chat: { messages: [{ role: "user", content: "x" }], responseFormat: { type: "json_object" } },
  });
  assert.deepEqual(
    json.skipped.find((s) => s.model === "deepseek-reasoner")?.reason,
    { kind: "missing-capability", capability: "json" },
  );
});

Deno.test("routing: a model whose window cannot hold the request is dropped before any call", async () => {
  const world = routerWorld((config) => {
    config.extraModels = [
      { ...world0Model("tiny-model"), contextWindow: 1_000, maxOutputTokens: 100 },
    ];
    config.useCaseChains.general = ["tiny-model", "gpt-4o-mini"];
  });
  const long = "word ".repeat(5_000);
  const plan = await world.router.plan(ask(long));
  assert.deepEqual(plan.targets.map((t) => t.model.id), ["gpt-4o-mini"]);
  assert.equal(plan.skipped[0].reason.kind, "window-too-small");
  assert.equal(world.fakes.calls.length, 0);
});

Deno.test("routing: a request no model can hold is a 400 TOKEN_LIMIT_EXCEEDED with no provider call", async () => {
  const world = routerWorld((config) => {
    config.extraModels = [{
      ...world0Model("tiny-model"),
      contextWindow: 1_000,
      maxOutputTokens: 100,
    }];
    config.useCaseChains.general = ["tiny-model"];
  });
  await assert.rejects(world.router.chat(ask("word ".repeat(5_000)), never()), (error: unknown) => {
    assert.ok(error instanceof LLMError);
    assert.equal(error.code, "TOKEN_LIMIT_EXCEEDED");
    assert.equal(error.status, 400);
    return true;
  });
  assert.equal(world.fakes.calls.length, 0);
});

Deno.test("routing: with no usable candidate the error is 503 NO_PROVIDER listing why", async () => {
  const world = routerWorld(() => {}, { keys: {} });
  await assert.rejects(world.router.chat(ask(), never()), (error: unknown) => {
    assert.ok(error instanceof LLMError);
    assert.equal(error.code, "NO_PROVIDER");
    assert.equal(error.status, 503);
    assert.match(error.message, /no API key for openai/);
    return true;
  });
});

Deno.test("routing: a custom OpenAI-compatible provider is data, and needs no key when configured so", async () => {
  const world = routerWorld((config) => {
    config.customProviders = [{ name: "ollama", baseUrl: "http://127.0.0.1:11434/v1" }];
    config.extraModels = [{ ...world0Model("llama3.1"), provider: "ollama" }];
    config.useCaseChains.general = ["llama3.1"];
  }, { keys: {} });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.provider, "ollama");
  assert.equal(answer.model, "llama3.1");
});

function world0Model(id: string) {
  return {
    id,
    provider: "openai",
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    prices: { input: 1, output: 2, cachedInput: 0.5, cacheWrite: 1 },
    capabilities: { chat: true, tools: true, vision: false, json: true, embeddings: false },
    tokenizer: "o200k" as const,
  };
}

Deno.test("trimming: with summarizeTrimmed, dropped turns are summarized once through the summary use case", async () => {
  const world = routerWorld((config) => {
    config.marginTokens = 0;
    config.summarizeTrimmed = true;
    config.extraModels = [{
      ...world0Model("tiny-model"),
      contextWindow: 200,
      maxOutputTokens: 50,
    }];
    config.useCaseChains.general = ["tiny-model"];
    config.useCaseChains.summary = ["gpt-4o-mini"];
  });
  world.fakes.script("gpt-4o-mini", { text: "they talked about the weather" });
  const messages = Array.from({ length: 10 }, (_, i) => ({
    role: (i % 2 === 0 ? "user" : "assistant") as "user" | "assistant",
    content: `turn ${i} ${"word ".repeat(18)}`,
  }));
  const answer = await world.router.chat({ chat: { messages } }, never());
  assert.equal(answer.model, "tiny-model");
  assert.ok(answer.route.trimmedMessages > 0);
  const summaryCall = world.fakes.calls.find((c) => c.model === "gpt-4o-mini")!;
  assert.match(JSON.stringify(summaryCall.request), /turn 0/);
  const sent = world.fakes.calls.find((c) => c.model === "tiny-model")!.request as {
    messages: { role: string; content: string }[];
  };
  assert.equal(sent.messages[0].role, "system");
  assert.match(sent.messages[0].content, /they talked about the weather/);
  assert.equal(sent.messages.at(-1)!.content, messages.at(-1)!.content, "the current turn is kept");
  assert.equal(world.fakes.calls.filter((c) => c.model === "gpt-4o-mini").length, 1);
});
