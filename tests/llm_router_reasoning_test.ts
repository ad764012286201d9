/**
 * Reasoning per target: the planner maps a request's reasoning to the
 * control each model takes (an effort level at one it accepts, a thinking
 * budget for Claude) and drops it, with a warning the route reports, where
 * there is none. Planned against fake providers; the last cases go through
 * the real adapters to the mock, so the wire fields are what the provider got.
 */
import assert from "node:assert/strict";
import { startMockProvider } from "../scripts/mock-provider.ts";
import { createProviderAdapter } from "../supabase/functions/_shared/llm/providers/create-adapter.ts";
import type { PlannedTarget } from "../supabase/functions/_shared/llm/route-types.ts";
import {
  effortForBudget,
  nearestEffort,
} from "../supabase/functions/_shared/llm/target-request.ts";
import type { LLMChatRequest } from "../supabase/functions/_shared/llm/types.ts";
import { ToolRegistry } from "../supabase/functions/_shared/llm/tools.ts";
import { never, PLATFORM_KEYS, routerWorld } from "./helpers/router-world.ts";

const KEYS = { ...PLATFORM_KEYS, xai: "xai-key", mistral: "mistral-key" };

/** The planned targets of `chat` across `chain`, by model id. */
async function planned(
  chain: string[],
  chat: Partial<LLMChatRequest>,
): Promise<Record<string, PlannedTarget>> {
  const world = routerWorld((config) => (config.useCaseChains.general = chain), { keys: KEYS });
  const plan = await world.router.plan({
    chat: { messages: [{ role: "user", content: "think" }], ...chat },
  });
  return Object.fromEntries(plan.targets.map((t) => [t.model.id, t]));
}

Deno.test("reasoning: each model gets its own control; one without any gets none and a warning", async () => {
  const targets = await planned(
    ["o4-mini", "gpt-4o-mini", "claude-sonnet-4-6", "claude-haiku-4-5", "gemini-2.5-flash"],
    { reasoning: { effort: "xhigh" } },
  );
  // o4-mini takes low/medium/high: the nearest is sent, and said so.
  assert.deepEqual(targets["o4-mini"].request.reasoning, { effort: "high" });
  assert.deepEqual(targets["o4-mini"].warnings, [
    "reasoning effort xhigh sent as high: o4-mini takes low/medium/high",
  ]);
  assert.equal(targets["gpt-4o-mini"].request.reasoning, undefined);
  assert.deepEqual(targets["gpt-4o-mini"].warnings, [
    "reasoning ignored: gpt-4o-mini has no reasoning control",
  ]);
  // Claude: a thinking budget for the effort, and the effort itself where the model takes one.
  assert.deepEqual(targets["claude-sonnet-4-6"].request.reasoning, {
    budgetTokens: 32_000,
    effort: "high",
  });
  assert.deepEqual(targets["claude-haiku-4-5"].request.reasoning, { budgetTokens: 32_000 });
  assert.deepEqual(targets["claude-haiku-4-5"].warnings, []);
  assert.deepEqual(targets["gemini-2.5-flash"].request.reasoning, { effort: "high" });
});

Deno.test("reasoning: asking a model without a control for no reasoning is no warning", async () => {
  const targets = await planned(["gpt-4o-mini"], { reasoning: { effort: "none" } });
  assert.equal(targets["gpt-4o-mini"].request.reasoning, undefined);
  assert.deepEqual(targets["gpt-4o-mini"].warnings, []);
});

Deno.test("reasoning: with no max tokens from the caller, the output room grows by the thinking budget", async () => {
  const targets = await planned(["claude-haiku-4-5", "o4-mini", "gpt-4o-mini"], {
    reasoning: { effort: "medium" },
  });
  assert.equal(targets["claude-haiku-4-5"].request.maxTokens, 4_096 + 8_192);
  assert.equal(targets["o4-mini"].request.maxTokens, 4_096 + 8_192);
  assert.equal(targets["gpt-4o-mini"].request.maxTokens, 4_096);
});

Deno.test("reasoning: the caller's max tokens cut the thinking budget; with no room thinking is off", async () => {
  const cut = await planned(["claude-sonnet-4-6"], {
    maxTokens: 3_000,
    reasoning: { budgetTokens: 8_000, effort: "low" },
  });
  assert.deepEqual(cut["claude-sonnet-4-6"].request.reasoning, {
    budgetTokens: 2_999,
    effort: "low",
  });
  assert.deepEqual(cut["claude-sonnet-4-6"].warnings, [
    "thinking budget cut from 8000 to 2999 tokens to fit max tokens",
  ]);

  const none = await planned(["claude-sonnet-4-6"], {
    maxTokens: 1_000,
    reasoning: { effort: "low" },
  });
  // The effort still goes; thinking does not.
  assert.deepEqual(none["claude-sonnet-4-6"].request.reasoning, { effort: "low" });
  assert.match(none["claude-sonnet-4-6"].warnings[0], /^thinking off: 1000 max tokens/);
});

Deno.test("reasoning: a budget asked of an effort model is sent as the effort it amounts to", async () => {
  const targets = await planned(["o4-mini", "grok-3-mini"], {
    reasoning: { budgetTokens: 5_000 },
  });
  assert.deepEqual(targets["o4-mini"].request.reasoning, { effort: "medium" });
  assert.deepEqual(targets["o4-mini"].warnings, [
    "reasoning budget of 5000 tokens sent as effort medium: o4-mini takes an effort level",
  ]);
  // Grok 3 mini takes low or high: medium ties, and the higher wins.
  assert.deepEqual(targets["grok-3-mini"].request.reasoning, { effort: "high" });
});

Deno.test("reasoning: Claude cannot think while a tool call is forced, so the reasoning is dropped", async () => {
  const targets = await planned(["claude-sonnet-4-6"], {
    reasoning: { effort: "high" },
    tools: [{ name: "lookup", parameters: { type: "object" } }],
    toolChoice: "required",
  });
  assert.equal(targets["claude-sonnet-4-6"].request.reasoning, undefined);
  assert.deepEqual(targets["claude-sonnet-4-6"].warnings, [
    "reasoning ignored: claude-sonnet-4-6 cannot think while a tool call is forced",
  ]);
});

Deno.test("reasoning: a Messages body's own thinking is left to reach Claude as written", async () => {
  const thinking = { type: "enabled", budget_tokens: 5_000 };
  const targets = await planned(["claude-sonnet-4-6", "claude-haiku-4-5", "o4-mini"], {
    maxTokens: 9_000,
    reasoning: { effort: "medium" },
    passthrough: { anthropic: { thinking } },
  });
  const claude = targets["claude-sonnet-4-6"].request;
  assert.equal(claude.maxTokens, 9_000);
  // No budget of ours: the body's thinking goes; the effort still does, where the model takes one.
  assert.deepEqual(claude.reasoning, { effort: "medium" });
  assert.deepEqual(claude.passthrough, { anthropic: { thinking } });
  assert.equal(targets["claude-haiku-4-5"].request.reasoning, undefined);
  // Elsewhere the mapped reasoning serves.
  assert.deepEqual(targets["o4-mini"].request.reasoning, { effort: "medium" });
});

Deno.test("reasoning: effort levels map to the nearest accepted one, budgets to the effort that covers them", () => {
  assert.equal(nearestEffort("medium", ["low", "medium", "high"]), "medium");
  assert.equal(nearestEffort("max", ["low", "medium", "high"]), "high");
  assert.equal(nearestEffort("none", ["low", "medium", "high"]), "low");
  assert.equal(nearestEffort("minimal", ["none", "low", "high"]), "low");
  assert.equal(effortForBudget(undefined), "medium");
  assert.equal(effortForBudget(1_024), "minimal");
  assert.equal(effortForBudget(16_000), "high");
  assert.equal(effortForBudget(100_000), "max");
});

Deno.test("reasoning: through the real adapters, the mock gets reasoning_effort only where the model takes it", async () => {
  const mock = await startMockProvider();
  try {
    const world = routerWorld((config) => {
      config.useCaseChains.general = ["gpt-4o-mini"];
      // Real HTTP: the fake world's 150 ms attempts are too short for a loaded machine.
      config.timeouts = { ...config.timeouts, requestMs: 30_000, firstEventMs: 30_000 };
    }, {
      createAdapter: createProviderAdapter,
      baseUrls: { openai: mock.openaiBaseUrl, anthropic: mock.anthropicBaseUrl },
      sleep: () => Promise.resolve(),
    });
    // gpt-4o-mini takes no reasoning_effort (the mock, like OpenAI, would answer 400).
    const plain = await world.router.chat({
      chat: { messages: [{ role: "user", content: "hi" }], reasoning: { effort: "high" } },
    }, never());
    const bodyOf = (model: string) =>
      mock.requests.find((r) => r.model === model)!.body as Record<string, unknown>;
    assert.equal("reasoning_effort" in bodyOf("gpt-4o-mini"), false);
    assert.deepEqual(plain.route.warnings, [
      "reasoning ignored: gpt-4o-mini has no reasoning control",
    ]);

    const reasoned = await world.router.chat({
      modelOverride: "o4-mini",
      chat: { messages: [{ role: "user", content: "hi" }], reasoning: { effort: "high" } },
    }, never());
    const body = bodyOf("o4-mini");
    assert.equal(body.reasoning_effort, "high");
    assert.equal(body.max_completion_tokens, 4_096 + 16_384);
    assert.equal(reasoned.usage.reasoningTokens, 256);
    assert.equal(reasoned.route.warnings, undefined);
    // Reasoning tokens are billed at the output price, inside the output tokens.
    const o4 = world.router.catalog.get("o4-mini")!;
    assert.equal(
      reasoned.costUsd,
      (reasoned.usage.inputTokens * o4.prices.input +
        reasoned.usage.outputTokens * o4.prices.output) /
        1_000_000,
    );

    const claude = await world.router.chat({
      modelOverride: "claude-haiku-4-5",
      chat: { messages: [{ role: "user", content: "hi" }], reasoning: { effort: "low" } },
    }, never());
    const sent = bodyOf("claude-haiku-4-5");
    assert.deepEqual(sent.thinking, { type: "enabled", budget_tokens: 2_048 });
    assert.equal(sent.max_tokens, 4_096 + 2_048);
    assert.equal("output_config" in sent, false);
    assert.equal(claude.reasoning?.[0].type, "thinking");
  } finally {
    await mock.close();
  }
});

Deno.test("reasoning: in a tool loop Claude's signed thinking goes back with the tool results", async () => {
  const mock = await startMockProvider();
  try {
    const tools = new ToolRegistry([{
      definition: { name: "get_weather", parameters: { type: "object", properties: {} } },
      execute: () => Promise.resolve({ sky: "clear" }),
    }]);
    const world = routerWorld((config) => {
      config.timeouts = { ...config.timeouts, requestMs: 30_000 };
    }, {
      createAdapter: createProviderAdapter,
      baseUrls: { anthropic: mock.anthropicBaseUrl },
      sleep: () => Promise.resolve(),
      tools,
    });
    const result = await world.router.chatWithTools(
      {
        modelOverride: "claude-haiku-4-5",
        chat: {
          messages: [{ role: "user", content: "call get_weather for Oslo" }],
          reasoning: { budgetTokens: 1_024 },
        },
      },
      3,
      never(),
    );
    assert.equal(result.steps, 2);
    assert.equal(mock.requests.length, 2);
    assert.ok(mock.requests.every((r) => r.status === 200));
    const second = mock.requests[1].body as {
      messages: { role: string; content: { type: string }[] }[];
    };
    assert.deepEqual(second.messages[1].content.map((b) => b.type), [
      "thinking",
      "text",
      "tool_use",
    ]);
    // Both steps' thinking is counted.
    assert.ok(result.usage.reasoningTokens! > 0);
  } finally {
    await mock.close();
  }
});
