/**
 * The operator's circuit lever: `POST /llm-router/circuits/reset
 * {provider, model}` (server keys only) closes a platform circuit that real
 * failures opened, in the store every isolate reads; routing uses the model
 * again at once, llm-metrics lists it closed, and the reset is audited. A
 * pair the catalog does not know is a 400 naming the field.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { DEV_JWT_SECRET, signToken } from "./helpers/tokens.ts";
import { testLogger } from "./helpers/logs.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { createMetricsApp } from "../supabase/functions/llm-metrics/app.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

async function circuitWorld() {
  const database = await freshDb();
  const store = new MemoryStateStore();
  // One failure opens a circuit, for a minute; no retry on the same model.
  const env = { LLM_BREAKER_FAILURES: "1", LLM_BREAKER_OPEN_MS: "60000", LLM_MAX_RETRIES: "0" };
  const router = await routerHttpWorld(env, { db: database.db, store });
  const metrics = createMetricsApp({
    env: mapEnv({
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      ...env,
    }),
    log: testLogger("llm-metrics"),
    store,
    db: database.db,
  });
  const token = (role: string) =>
    signToken({ sub: crypto.randomUUID(), app_metadata: { account_id: ACCOUNT_A, role } });
  return {
    router,
    db: database.db,
    member: await token("member"),
    admin: await token("admin"),
    reset: (body: unknown, token = SERVICE_KEY) =>
      callJson("POST", `${router.url}/circuits/reset`, token, body),
    ask: async (token: string) => {
      const answer = await callJson("POST", router.url, token, { prompt: "hi", maxTokens: 20 });
      assert.equal(answer.status, 200, answer.text);
      return answer.headers.get("x-llm-model");
    },
    /** The circuit llm-metrics lists for `model`, after the router flushed its counters. */
    async circuitOf(model: string) {
      await router.settle();
      const response = await metrics(
        new Request("http://127.0.0.1/functions/v1/llm-metrics", {
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        }),
      );
      const body = await response.json();
      return body.circuits.find((c: { model: string }) => c.model === model)?.state;
    },
    async close() {
      await router.settle();
      await router.close();
      await database.close();
    },
  };
}

Deno.test("circuits reset: a circuit real failures opened is closed by a server key; routing and llm-metrics follow, and it is audited", async () => {
  const t = await circuitWorld();
  try {
    assert.equal(await t.ask(t.member), "gpt-4o-mini");
    // The next call to the default model fails: its circuit opens and the request falls back.
    t.router.mock.queueFault("status=503", 1);
    const fellBack = await t.ask(t.member);
    assert.notEqual(fellBack, "gpt-4o-mini");
    assert.equal(await t.circuitOf("gpt-4o-mini"), "OPEN");
    assert.notEqual(await t.ask(t.member), "gpt-4o-mini", "routing avoids the open circuit");

    const reset = await t.reset({ provider: "openai", model: "gpt-4o-mini" });
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual(reset.json, {
      provider: "openai",
      model: "gpt-4o-mini",
      state: "CLOSED",
      previousState: "OPEN",
    });
    assert.equal(await t.ask(t.member), "gpt-4o-mini", "served by the model again at once");
    assert.equal(await t.circuitOf("gpt-4o-mini"), "CLOSED");

    const rows = await t.db.query<Record<string, unknown>>(
      "select action, target, provider, model, actor_role, details from llm_audit_log where action = 'circuit.reset'",
    );
    assert.deepEqual(rows, [{
      action: "circuit.reset",
      target: "circuit:openai:gpt-4o-mini",
      provider: "openai",
      model: "gpt-4o-mini",
      actor_role: "service",
      details: { previousState: "OPEN" },
    }]);
  } finally {
    await t.close();
  }
});

Deno.test("circuits reset: server keys only (403), and a pair the catalog does not know is a 400 naming the field", async () => {
  const t = await circuitWorld();
  try {
    const pair = { provider: "openai", model: "gpt-4o-mini" };
    for (const token of [t.member, t.admin]) {
      const refused = await t.reset(pair, token);
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.code, "FORBIDDEN");
    }
    const cases: [unknown, string][] = [
      [{ provider: "nope", model: "gpt-4o-mini" }, "provider"],
      [{ provider: "openai", model: "no-such-model" }, "model"],
      [{ provider: "openai", model: "claude-haiku-4-5" }, "model"],
      [{ provider: "openai" }, "model"],
      [{ model: "gpt-4o-mini" }, "provider"],
      [{ ...pair, extra: true }, "extra"],
    ];
    for (const [body, field] of cases) {
      const bad = await t.reset(body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.json.error.code, "VALIDATION_ERROR");
      assert.match(String(bad.json.error.field), new RegExp(field), JSON.stringify(body));
    }
    const served = await t.reset({ provider: "anthropic", model: "claude-haiku-4-5" });
    assert.equal(served.status, 200);
    assert.equal(served.json.previousState, "CLOSED");
    await t.router.settle();
    const audited = await t.db.query("select 1 from llm_audit_log where action = 'circuit.reset'");
    assert.equal(audited.length, 1, "only the reset that ran is audited");
  } finally {
    await t.close();
  }
});
