/**
 * The settings that keep a request inside Supabase's limits, as
 * `routerConfigFrom` reads them: their defaults, their values, and a warning
 * (with the default kept) for each bad one.
 */
import assert from "node:assert/strict";
import { routerConfigFrom } from "../supabase/functions/_shared/llm/config.ts";
import {
  reasoningControlOf,
  structuredOutputOf,
} from "../supabase/functions/_shared/llm/catalog.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";

Deno.test("config: early commit after 20 s, a 140 s request deadline and 15 s heartbeats by default", () => {
  const warnings: string[] = [];
  const { timeouts } = routerConfigFrom(mapEnv({}), warnings);
  assert.equal(timeouts.commitAfterMs, 20_000);
  assert.equal(timeouts.deadlineMs, 140_000);
  assert.equal(timeouts.heartbeatMs, 15_000);
  assert.deepEqual(warnings, []);
});

Deno.test("config: LLM_STREAM_COMMIT_AFTER_MS, LLM_REQUEST_DEADLINE_MS and LLM_SSE_HEARTBEAT_MS are read", () => {
  const warnings: string[] = [];
  const { timeouts } = routerConfigFrom(
    mapEnv({
      LLM_STREAM_COMMIT_AFTER_MS: "10000",
      LLM_REQUEST_DEADLINE_MS: "350000",
      LLM_SSE_HEARTBEAT_MS: "5000",
    }),
    warnings,
  );
  assert.deepEqual(
    [timeouts.commitAfterMs, timeouts.deadlineMs, timeouts.heartbeatMs],
    [10_000, 350_000, 5_000],
  );
  assert.deepEqual(warnings, []);
});

Deno.test("config: a bad value keeps its default with a warning naming the setting", () => {
  const warnings: string[] = [];
  const { timeouts } = routerConfigFrom(
    mapEnv({
      LLM_STREAM_COMMIT_AFTER_MS: "soon",
      LLM_REQUEST_DEADLINE_MS: "-1",
      // Past Supabase's 150 s silence limit: a heartbeat that late keeps nothing alive.
      LLM_SSE_HEARTBEAT_MS: "200000",
    }),
    warnings,
  );
  assert.deepEqual(
    [timeouts.commitAfterMs, timeouts.deadlineMs, timeouts.heartbeatMs],
    [20_000, 140_000, 15_000],
  );
  assert.equal(warnings.length, 3, warnings.join("\n"));
  assert.match(warnings[0], /^LLM_STREAM_COMMIT_AFTER_MS=soon /);
  assert.match(warnings[1], /^LLM_REQUEST_DEADLINE_MS=-1 /);
  assert.match(warnings[2], /^LLM_SSE_HEARTBEAT_MS=200000 /);
});

Deno.test("config: a commit threshold that the first-event timeout or the deadline always beats is warned about", () => {
  const late: string[] = [];
  routerConfigFrom(
    mapEnv({ LLM_STREAM_COMMIT_AFTER_MS: "40000", LLM_FIRST_EVENT_TIMEOUT_MS: "30000" }),
    late,
  );
  assert.equal(late.length, 1);
  assert.match(late[0], /LLM_STREAM_COMMIT_AFTER_MS=40000 is not below LLM_FIRST_EVENT_TIMEOUT_MS/);

  const short: string[] = [];
  routerConfigFrom(
    mapEnv({
      LLM_STREAM_COMMIT_AFTER_MS: "20000",
      LLM_FIRST_EVENT_TIMEOUT_MS: "60000",
      LLM_REQUEST_DEADLINE_MS: "15000",
    }),
    short,
  );
  assert.equal(short.length, 1);
  assert.match(short[0], /is not below LLM_REQUEST_DEADLINE_MS=15000/);
});

Deno.test("config: LLM_MODELS entries may set structured output and reasoning; unknown values are refused", () => {
  const entry = (capabilities: Record<string, unknown>) =>
    JSON.stringify([{
      id: "local-model",
      provider: "ollama",
      contextWindow: 32_000,
      maxOutputTokens: 4_096,
      prices: { input: 0, output: 0 },
      capabilities: {
        chat: true,
        tools: true,
        vision: false,
        json: true,
        embeddings: false,
        ...capabilities,
      },
      tokenizer: "approx",
    }]);
  const warnings: string[] = [];
  const good = routerConfigFrom(
    mapEnv({
      LLM_MODELS: entry({
        structuredOutput: "native",
        reasoning: "effort",
        reasoningEfforts: ["low", "high"],
      }),
    }),
    warnings,
  );
  assert.deepEqual(warnings, []);
  assert.equal(good.extraModels[0].capabilities.structuredOutput, "native");
  assert.deepEqual(good.extraModels[0].capabilities.reasoningEfforts, ["low", "high"]);

  for (
    const bad of [{ structuredOutput: "maybe" }, { reasoning: "deep" }, {
      reasoningEfforts: ["huge"],
    }]
  ) {
    const refused: string[] = [];
    const config = routerConfigFrom(mapEnv({ LLM_MODELS: entry(bad) }), refused);
    assert.deepEqual(config.extraModels, []);
    assert.deepEqual(refused, ["LLM_MODELS is not valid; ignoring it"]);
  }
});

Deno.test("config: an LLM_MODELS entry that says nothing guarantees a schema by a forced tool and has no reasoning control", () => {
  const [model] = routerConfigFrom(
    mapEnv({
      LLM_MODELS: JSON.stringify([{
        id: "local-model",
        provider: "ollama",
        contextWindow: 32_000,
        maxOutputTokens: 4_096,
        prices: { input: 0, output: 0 },
        capabilities: { chat: true, tools: true, vision: false, json: true, embeddings: false },
        tokenizer: "approx",
      }]),
    }),
  ).extraModels;
  assert.equal(structuredOutputOf(model), "tool");
  assert.equal(reasoningControlOf(model), "none");
  assert.equal(
    structuredOutputOf({ ...model, capabilities: { ...model.capabilities, tools: false } }),
    "none",
  );
});
