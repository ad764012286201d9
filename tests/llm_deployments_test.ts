/**
 * Weighted deployments behind one model (LLM_DEPLOYMENTS), in the router
 * core over fake providers: traffic spreads by weight (seeded random), each
 * deployment is called with its own key through one adapter built once, an
 * open circuit or a failure moves the request to the model's next deployment
 * before the next model, a full deployment ceiling (the gateway's gate) does
 * the same, and a model without deployments routes exactly as before.
 */
import assert from "node:assert/strict";
import type { RouterConfig } from "../supabase/functions/_shared/llm/config.ts";
import { platformCircuitKey } from "../supabase/functions/_shared/llm/circuit-key.ts";
import { deploymentsFrom } from "../supabase/functions/_shared/llm/deployment-config.ts";
import { weightedOrder } from "../supabase/functions/_shared/llm/deployments.ts";
import { MemoryCircuitBreakerStore } from "../supabase/functions/_shared/llm/resilience.ts";
import { GatewayGuards } from "../supabase/functions/_shared/guards/gateway-guards.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { createRouterFromEnv } from "../supabase/functions/_shared/router-env/from-env.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import type { ProviderAdapterInit } from "../supabase/functions/_shared/llm/providers/provider.ts";
import { FakeProviders } from "./helpers/fake-provider.ts";
import { testLogger } from "./helpers/logs.ts";
import { ask, never, PLATFORM_KEYS, routerWorld } from "./helpers/router-world.ts";

const KEY_A = "sk-deployment-a-key-0001";
const KEY_B = "sk-deployment-b-key-0002";
const DEPLOYMENT_KEYS = { OPENAI_KEY_A: KEY_A, OPENAI_KEY_B: KEY_B };

/** A small seeded generator (mulberry32): the same draws on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** gpt-4o-mini behind two keys, weighted `a:b`, then claude-haiku-4-5 as the fallback model. */
function twoDeployments(
  a: number,
  b: number,
  ceilings: { a?: { rpm: number }; b?: { rpm: number } } = {},
) {
  return (config: RouterConfig) => {
    config.useCaseChains.general = ["gpt-4o-mini", "claude-haiku-4-5"];
    config.retry.maxRetries = 0;
    config.breaker = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
    config.deployments = {
      "gpt-4o-mini": [
        { name: "a", weight: a, keyEnv: "OPENAI_KEY_A", ...ceilings.a },
        { name: "b", weight: b, keyEnv: "OPENAI_KEY_B", ...ceilings.b },
      ],
    };
  };
}

/** Counts the adapters a router builds. */
function countingAdapters(fakes: FakeProviders) {
  const built: ProviderAdapterInit[] = [];
  return {
    built,
    createAdapter: (init: ProviderAdapterInit) => {
      built.push(init);
      return fakes.createAdapter(init);
    },
  };
}

Deno.test("deployments: 1,000 requests over 3:1 weights land within 5% of 75/25", async () => {
  const fakes = new FakeProviders();
  const adapters = countingAdapters(fakes);
  const world = routerWorld(twoDeployments(3, 1), {
    random: seeded(13),
    deploymentKeys: DEPLOYMENT_KEYS,
    createAdapter: adapters.createAdapter,
  });
  const served = { a: 0, b: 0 } as Record<string, number>;
  for (let i = 0; i < 1_000; i++) {
    const answer = await world.router.chat(ask(), never());
    assert.equal(answer.route.model, "gpt-4o-mini");
    served[answer.route.deployment!]++;
  }
  assert.ok(served.a >= 700 && served.a <= 800, `a served ${served.a} of 1,000`);
  assert.equal(served.a + served.b, 1_000);
  const keys = fakes.calls.map((call) => call.apiKey);
  assert.equal(keys.filter((key) => key === KEY_A).length, served.a, "a's calls carry a's key");
  assert.equal(keys.filter((key) => key === KEY_B).length, served.b, "b's calls carry b's key");
  assert.deepEqual(
    adapters.built.map((init) => init.apiKey).sort(),
    [KEY_A, KEY_B],
    "one adapter per deployment, built once for all 1,000 requests",
  );
});

Deno.test("deployments: an open circuit on one sends every request to the other", async () => {
  const breakers = new MemoryCircuitBreakerStore({
    failureThreshold: 1,
    openMs: 60_000,
    halfOpenSuccesses: 1,
  });
  const world = routerWorld(twoDeployments(3, 1), {
    random: seeded(7),
    deploymentKeys: DEPLOYMENT_KEYS,
    breakers,
  });
  await breakers.recordFailure(
    platformCircuitKey("openai", "gpt-4o-mini", "a"),
    world.clock.now(),
  );
  const served: string[] = [];
  for (let i = 0; i < 100; i++) {
    const answer = await world.router.chat(ask(), never());
    assert.equal(answer.route.model, "gpt-4o-mini", "the same model, not the fallback model");
    served.push(answer.route.deployment!);
    if (answer.route.skipped) {
      assert.deepEqual(
        answer.route.skipped.map((s) => [s.model, s.deployment, s.reason.kind]),
        [["gpt-4o-mini", "a", "circuit-open"]],
      );
    }
  }
  assert.deepEqual([...new Set(served)], ["b"]);
  assert.ok(world.fakes.calls.every((call) => call.apiKey === KEY_B), "a is never called");
  const model = await breakers.state(
    platformCircuitKey("openai", "gpt-4o-mini"),
    world.clock.now(),
  );
  assert.equal(model, "CLOSED", "the model's own circuit is untouched");
});

Deno.test("deployments: a failing deployment hands over to the next deployment before the next model", async () => {
  // The first draw picks a (its weight's share of [0, 1)); a fails, b serves.
  const world = routerWorld(twoDeployments(1, 1), {
    random: () => 0,
    deploymentKeys: DEPLOYMENT_KEYS,
  });
  world.fakes.script("gpt-4o-mini", { error: "PROVIDER_ERROR" });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.route.model, "gpt-4o-mini");
  assert.equal(answer.route.deployment, "b");
  assert.equal(answer.route.fallbackIndex, 1);
  assert.deepEqual(world.fakes.calls.map((call) => call.apiKey), [KEY_A, KEY_B]);
  const again = await world.router.chat(ask(), never());
  assert.equal(again.route.deployment, "b", "a's circuit opened on its failure");
  assert.equal(again.route.skipped?.[0]?.deployment, "a");
});

Deno.test("deployments: a full ceiling on one moves to the other before the next model", async () => {
  const world = routerWorld(twoDeployments(1, 1, { a: { rpm: 1 }, b: { rpm: 1 } }), {
    random: () => 0,
    deploymentKeys: DEPLOYMENT_KEYS,
  });
  const guards = new GatewayGuards({
    store: new MemoryStateStore(world.clock.now),
    policy: { modelCeilings: {}, failClosed: false },
    now: world.clock.now,
    log: testLogger("deployments-test"),
    waitUntil: () => {},
    onBudgetAlert: () => {},
    deploymentCeilings: true,
  });
  const route = async () => {
    const { gate } = await guards.admit({});
    assert.ok(gate, "deployment ceilings need a gate for every request");
    return (await world.router.chat({ ...ask(), gate }, never())).route;
  };
  const first = await route();
  assert.deepEqual([first.model, first.deployment], ["gpt-4o-mini", "a"]);
  const second = await route();
  assert.deepEqual([second.model, second.deployment], ["gpt-4o-mini", "b"]);
  assert.deepEqual(
    second.skipped?.map((s) => `${s.model}@${s.deployment}=${s.reason.kind}`),
    ["gpt-4o-mini@a=refused"],
  );
  const third = await route();
  assert.equal(third.model, "claude-haiku-4-5", "both full: only now the next model");
  assert.equal(third.deployment, undefined);
  assert.deepEqual(world.fakes.calls.map((call) => call.apiKey), [
    KEY_A,
    KEY_B,
    PLATFORM_KEYS.anthropic,
  ]);
});

Deno.test("deployments: a model without deployments routes as before, with no draw", async () => {
  const fakes = new FakeProviders();
  const adapters = countingAdapters(fakes);
  const breakers = new MemoryCircuitBreakerStore({
    failureThreshold: 1,
    openMs: 60_000,
    halfOpenSuccesses: 1,
  });
  const world = routerWorld(twoDeployments(3, 1), {
    random: () => {
      throw new Error("no draw for a model without deployments");
    },
    deploymentKeys: DEPLOYMENT_KEYS,
    createAdapter: adapters.createAdapter,
    breakers,
  });
  fakes.script("claude-haiku-4-5", { error: "PROVIDER_ERROR" });
  const failed = await world.router.chat({ ...ask(), modelOverride: "claude-haiku-4-5" }, never())
    .catch((error) => error);
  assert.ok(failed instanceof Error);
  assert.equal(
    await breakers.state(platformCircuitKey("anthropic", "claude-haiku-4-5"), world.clock.now()),
    "OPEN",
    "its circuit keeps its key",
  );
  const answer = await world.router.chat({ ...ask(), modelOverride: "gpt-4o" }, never());
  assert.equal(answer.route.model, "gpt-4o");
  assert.equal("deployment" in answer.route, false);
  assert.equal(fakes.calls.at(-1)?.apiKey, PLATFORM_KEYS.openai);
});

Deno.test("deployments: a model with one deployment takes it without a draw", async () => {
  const world = routerWorld((config) => {
    config.deployments = {
      "gpt-4o-mini": [{ name: "only", weight: 1, keyEnv: "OPENAI_KEY_B" }],
    };
  }, {
    random: () => {
      throw new Error("one deployment needs no draw");
    },
    deploymentKeys: DEPLOYMENT_KEYS,
  });
  const answer = await world.router.chat({ ...ask(), modelOverride: "gpt-4o-mini" }, never());
  assert.equal(answer.route.deployment, "only");
  assert.equal(world.fakes.calls[0].apiKey, KEY_B);
});

Deno.test("deployments: a standby (weight 0) serves only when the weighted ones are skipped", async () => {
  const breakers = new MemoryCircuitBreakerStore({
    failureThreshold: 1,
    openMs: 60_000,
    halfOpenSuccesses: 1,
  });
  const world = routerWorld(twoDeployments(1, 0), {
    random: seeded(3),
    deploymentKeys: DEPLOYMENT_KEYS,
    breakers,
  });
  for (let i = 0; i < 20; i++) {
    assert.equal((await world.router.chat(ask(), never())).route.deployment, "a");
  }
  await breakers.recordFailure(
    platformCircuitKey("openai", "gpt-4o-mini", "a"),
    world.clock.now(),
  );
  assert.equal((await world.router.chat(ask(), never())).route.deployment, "b");
});

Deno.test("deployments: an account's own key replaces the platform's deployments of that provider", async () => {
  const world = routerWorld(twoDeployments(3, 1), {
    random: seeded(5),
    deploymentKeys: DEPLOYMENT_KEYS,
  });
  const tenant = world.router.withApiKeys({ openai: "sk-tenant-own-openai" }, "account:t1");
  const answer = await tenant.chat(ask(), never());
  assert.equal(answer.route.model, "gpt-4o-mini");
  assert.equal(answer.route.deployment, undefined);
  assert.deepEqual(world.fakes.calls.map((call) => call.apiKey), ["sk-tenant-own-openai"]);
});

Deno.test("deployments: embeddings use the deployment's key too", async () => {
  const world = routerWorld((config) => {
    config.deployments = {
      "text-embedding-3-small": [{ name: "emb", weight: 1, keyEnv: "OPENAI_KEY_A" }],
    };
  }, { deploymentKeys: DEPLOYMENT_KEYS });
  const answer = await world.router.embed({ input: ["one"] }, never());
  assert.equal(answer.route.deployment, "emb");
  assert.equal(world.fakes.calls[0].apiKey, KEY_A);
});

Deno.test("deployments: a model whose deployments have no key is skipped as keyless", async () => {
  const world = routerWorld(twoDeployments(1, 1), { deploymentKeys: {} });
  const answer = await world.router.chat(ask(), never());
  assert.equal(answer.route.model, "claude-haiku-4-5");
  assert.deepEqual(
    answer.route.skipped?.map((s) => [s.model, s.reason.kind]),
    [["gpt-4o-mini", "no-key"]],
  );
});

Deno.test("deployments: the weighted order puts every deployment once, standbys last", () => {
  const order = (draw: number) =>
    weightedOrder([
      { name: "a", weight: 3 },
      { name: "standby", weight: 0 },
      { name: "b", weight: 1 },
    ], () => draw).map((d) => d.name);
  assert.deepEqual(order(0), ["a", "b", "standby"]);
  assert.deepEqual(order(0.74), ["a", "b", "standby"]);
  assert.deepEqual(order(0.76), ["b", "a", "standby"]);
  assert.deepEqual(order(0.999999999), ["b", "a", "standby"]);
});

Deno.test("deployments: LLM_DEPLOYMENTS keeps good entries and names each bad one without its value", () => {
  const warnings: string[] = [];
  const inlineKey = "sk-pasted-inline-secret-9999";
  const deployments = deploymentsFrom(
    JSON.stringify({
      "gpt-4o-mini": [
        {
          name: "a",
          weight: 3,
          keyEnv: "OPENAI_KEY_A",
          rpm: 500,
          baseUrl: "https://a.example/v1/",
        },
        { name: "a", weight: 1 },
        { name: "b", weight: -1 },
        { name: "c", keyEnv: inlineKey },
        { name: "d", baseUrl: `https://user:${inlineKey}@mirror.example/v1` },
        { name: "e", apiKey: inlineKey },
        { name: "bad name!" },
        { name: "f", tpm: 1.5 },
      ],
      "gpt-4o": "not a list",
    }),
    warnings,
  );
  assert.deepEqual(deployments, {
    "gpt-4o-mini": [
      { name: "a", weight: 3, keyEnv: "OPENAI_KEY_A", baseUrl: "https://a.example/v1", rpm: 500 },
    ],
  });
  const said = warnings.join("\n");
  for (
    const expected of [
      "taken",
      "weight",
      "keyEnv must name",
      "baseUrl",
      "apiKey",
      "name",
      "tpm",
      "gpt-4o:",
    ]
  ) {
    assert.ok(said.includes(expected), `a warning about ${expected} in ${said}`);
  }
  assert.equal(said.includes(inlineKey), false, "no warning repeats a value");
  const none: string[] = [];
  assert.deepEqual(deploymentsFrom("{not json", none), {});
  assert.equal(none.length, 1);
});

Deno.test("deployments: the env router leaves out a deployment whose key is unset, and says so", () => {
  const warnings: string[] = [];
  const router = createRouterFromEnv(
    mapEnv({
      OPENAI_API_KEY: "sk-platform",
      OPENAI_KEY_A: KEY_A,
      LLM_DEPLOYMENTS: JSON.stringify({
        "gpt-4o-mini": [
          { name: "a", weight: 3, keyEnv: "OPENAI_KEY_A" },
          { name: "b", weight: 1, keyEnv: "OPENAI_KEY_B" },
          { name: "platform", weight: 1 },
        ],
        "no-such-model": [{ name: "x" }],
      }),
    }),
    {},
    warnings,
  );
  assert.deepEqual(
    router.deployments().map((d) => `${d.model}@${d.deployment.name}`),
    ["gpt-4o-mini@a", "gpt-4o-mini@platform"],
  );
  assert.ok(warnings.some((w) => w.includes("(b)") && w.includes("OPENAI_KEY_B is not set")));
  assert.ok(warnings.some((w) => w.includes("no-such-model") && w.includes("not a catalog model")));
  assert.ok(router.keyEnvNames().includes("OPENAI_KEY_A"), "its key is scrubbed from logs");
  assert.ok(router.keyEnvNames().includes("OPENAI_KEY_B"));
});
