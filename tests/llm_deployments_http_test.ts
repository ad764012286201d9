/**
 * Weighted deployments through llm-router over HTTP, with a real database:
 * `LLM_DEPLOYMENTS` puts gpt-4o-mini behind a primary key and a standby key;
 * the answer names its deployment in `x-llm-deployment`, the mock sees each
 * deployment's own key, a failing primary hands over to the standby and its
 * circuit (its own, not the model's) skips it until an operator resets it,
 * and usage rows, metrics series and the startup summary carry the
 * deployment, never a key.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { readMetrics } from "../supabase/functions/_shared/metrics/snapshot.ts";
import { summarize } from "../supabase/functions/_shared/metrics/summary.ts";
import { prometheusText } from "../supabase/functions/_shared/metrics/prometheus.ts";
import { metricsReport } from "../supabase/functions/_shared/metrics/report.ts";
import { createMetricsApp } from "../supabase/functions/llm-metrics/app.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { testLogger } from "./helpers/logs.ts";

const ACCOUNT = "dddddddd-dddd-4ddd-8ddd-dddddddddddd";
const KEY_PRIMARY = "sk-deploy-primary-key-7f3a9c";
const KEY_STANDBY = "sk-deploy-standby-key-2b8e41";
const INLINE_KEY = "sk-inline-never-logged-5d0c";

Deno.test("deployments over HTTP: header, own keys, failover and circuit per deployment, usage rows and metrics", async () => {
  const database = await freshDb();
  const store = new MemoryStateStore();
  const world = await routerHttpWorld((mock) => ({
    OPENAI_KEY_PRIMARY: KEY_PRIMARY,
    OPENAI_KEY_STANDBY: KEY_STANDBY,
    LLM_MAX_RETRIES: "0",
    LLM_BREAKER_FAILURES: "1",
    LLM_DEPLOYMENTS: JSON.stringify({
      "gpt-4o-mini": [
        // Weight 0: a standby, so which deployment serves does not depend on a draw.
        { name: "primary", weight: 1, keyEnv: "OPENAI_KEY_PRIMARY", baseUrl: mock.openaiBaseUrl },
        { name: "standby", weight: 0, keyEnv: "OPENAI_KEY_STANDBY", baseUrl: mock.openaiBaseUrl },
        { name: "pasted", apiKey: INLINE_KEY },
      ],
    }),
  }), { db: database.db, store });
  const member = await signToken({
    sub: crypto.randomUUID(),
    app_metadata: { account_id: ACCOUNT, role: "member" },
  });
  const ask = async () => {
    const answer = await callJson("POST", world.url, member, {
      prompt: "hello",
      modelOverride: "gpt-4o-mini",
      maxTokens: 20,
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers.get("x-llm-model"), "gpt-4o-mini");
    return answer.headers;
  };
  try {
    const first = await ask();
    assert.equal(first.get("x-llm-deployment"), "primary");
    assert.equal(world.mock.requests.at(-1)?.apiKey, KEY_PRIMARY);

    world.mock.queueFault("status=503", 1);
    const failover = await ask();
    assert.equal(
      failover.get("x-llm-deployment"),
      "standby",
      "the same model, its next deployment",
    );
    assert.deepEqual(world.mock.requests.slice(-2).map((r) => r.apiKey), [
      KEY_PRIMARY,
      KEY_STANDBY,
    ]);

    const skipping = await ask();
    assert.equal(skipping.get("x-llm-deployment"), "standby");
    assert.equal(skipping.get("x-llm-skipped"), "gpt-4o-mini@primary=circuit-open");
    assert.equal(world.mock.requests.at(-1)?.apiKey, KEY_STANDBY, "the open primary is not called");

    // llm-metrics, sharing the store, lists each deployment's circuit (the model has none of its own).
    const metrics = createMetricsApp({
      env: mapEnv({
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        LLM_DEPLOYMENTS: JSON.stringify({
          "gpt-4o-mini": [{ name: "primary", weight: 1 }, { name: "standby", weight: 0 }],
        }),
      }),
      log: testLogger("llm-metrics"),
      store,
    });
    const read = (format = "") =>
      metrics(
        new Request(`http://127.0.0.1/functions/v1/llm-metrics${format}`, {
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        }),
      );
    const report = await (await read()).json();
    assert.deepEqual(
      report.circuits.filter((c: { model: string }) => c.model === "gpt-4o-mini"),
      // A closed circuit shows once its model's traffic is in the counters; an open one always.
      [{ provider: "openai", model: "gpt-4o-mini", deployment: "primary", state: "OPEN" }],
    );
    assert.match(
      await (await read("?format=prometheus")).text(),
      /llm_circuit_state\{provider="openai",model="gpt-4o-mini",deployment="primary"\} 1/,
    );

    const unknown = await callJson("POST", `${world.url}/circuits/reset`, SERVICE_KEY, {
      provider: "openai",
      model: "gpt-4o-mini",
      deployment: "nope",
    });
    assert.equal(unknown.status, 400, unknown.text);
    const reset = await callJson("POST", `${world.url}/circuits/reset`, SERVICE_KEY, {
      provider: "openai",
      model: "gpt-4o-mini",
      deployment: "primary",
    });
    assert.equal(reset.status, 200, reset.text);
    assert.equal(reset.json.previousState, "OPEN");
    assert.equal((await ask()).get("x-llm-deployment"), "primary");

    await world.settle();
    const rows = await database.db.query<{ deployment: string | null; status: string }>(
      `select deployment, status from llm_usage where account_id = $1 order by id`,
      [ACCOUNT],
    );
    assert.deepEqual(rows.map((r) => r.deployment), ["primary", "standby", "standby", "primary"]);

    const snapshot = await readMetrics(store);
    const { series } = snapshot;
    const requests = Object.fromEntries(
      series.filter((s) => s.labels.model === "gpt-4o-mini").map((s) => [
        s.labels.deployment,
        summarize(s.counts).requests,
      ]),
    );
    assert.deepEqual(requests, { primary: 2, standby: 2 });
    assert.match(
      prometheusText(snapshot, [], Date.now()),
      /llm_requests_total\{provider="openai",model="gpt-4o-mini",use_case="general",deployment="standby"\} 2/,
    );
    const openai = metricsReport(snapshot, [], Date.now()).metrics.find((p) =>
      p.provider === "openai"
    );
    assert.deepEqual(openai?.models.map((m) => m.deployment).sort(), ["primary", "standby"]);

    const lines = world.logs.map((line) => JSON.parse(line));
    const ready = lines.find((line) => line.event === "router_ready");
    assert.equal(ready?.deployments, "gpt-4o-mini=primary:1/standby:0");
    const warnings = lines.filter((line) => line.event === "config_warning")
      .map((line) => String(line.detail));
    assert.ok(
      warnings.some((w) => w.includes("LLM_DEPLOYMENTS") && w.includes("apiKey")),
      `a warning about the pasted key in ${JSON.stringify(warnings)}`,
    );
    const logged = world.logs.join("\n");
    for (const secret of [KEY_PRIMARY, KEY_STANDBY, INLINE_KEY]) {
      assert.equal(logged.includes(secret), false, "no key in any log line");
    }
  } finally {
    await world.settle();
    await world.close();
    await database.close();
  }
});
