/**
 * The per-isolate worlds of llm-router and llm-metrics: a build that fails
 * (here: the env cannot be read for a moment) costs that request its answer
 * and is built again by the next one, never kept for the isolate's life; and
 * every malformed setting is logged as a config warning.
 */
import assert from "node:assert/strict";
import { type EnvReader, mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { createRouterApp } from "../supabase/functions/llm-router/app.ts";
import { createMetricsApp } from "../supabase/functions/llm-metrics/app.ts";
import { testLogger } from "./helpers/logs.ts";
import { DEV_JWT_SECRET } from "./helpers/tokens.ts";
import { routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";

/** `values` as env, except that reading `failing` throws the first `failures` times. */
function flakyEnv(values: Record<string, string>, failing: string, failures = 1): EnvReader {
  const env = mapEnv(values);
  let left = failures;
  return (name) => {
    if (name === failing && left > 0) {
      left--;
      throw new Error("env unavailable");
    }
    return env(name);
  };
}

const parsed = (logs: string[], event: string) =>
  logs.map((line) => JSON.parse(line)).filter((line) => line.event === event);

Deno.test("world: llm-router builds its world again after a failed build", async () => {
  const logs: string[] = [];
  const app = createRouterApp({
    env: flakyEnv({
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
    }, "UPSTASH_REDIS_REST_URL"),
    log: testLogger("llm-router", logs),
    waitUntil: () => {},
  });
  const health = () => app(new Request("http://127.0.0.1/functions/v1/llm-router/health"));
  try {
    const failed = await health();
    assert.equal(failed.status, 500);
    assert.equal((await failed.json()).error.code, "INTERNAL");
    assert.equal(parsed(logs, "unhandled").length, 1);

    const retried = await health();
    assert.equal(retried.status, 200, "the next request builds the world again");
    assert.equal((await retried.json()).status, "ok");
    assert.equal(parsed(logs, "router_ready").length, 1);
  } finally {
    await app.close();
  }
});

Deno.test("world: llm-metrics builds its world again after a failed build", async () => {
  const logs: string[] = [];
  const app = createMetricsApp({
    env: flakyEnv({
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
    }, "UPSTASH_REDIS_REST_URL"),
    log: testLogger("llm-metrics", logs),
  });
  const read = () =>
    app(
      new Request("http://127.0.0.1/functions/v1/llm-metrics", {
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      }),
    );
  const failed = await read();
  assert.equal(failed.status, 500);
  await failed.body?.cancel();
  const retried = await read();
  assert.equal(retried.status, 200, "the next request builds the world again");
  assert.ok(Array.isArray((await retried.json()).circuits));
});

Deno.test("world: every malformed setting of llm-router is logged as a config warning", async () => {
  const world = await routerHttpWorld({
    LLM_JOB_BATCH_SIZE: "lots",
    LLM_MAX_BODY_BYTES: "12",
    LLM_EMBEDDINGS_MAX_INPUTS: "-1",
    LLM_RATE_LIMIT_BURST: "many",
    LLM_MAX_RETRIES: "often",
    LLM_KEY_ENCRYPTION_KEYS: "not-a-key",
  });
  try {
    const health = await fetch(`${world.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const warnings = parsed(world.logs, "config_warning").map((line) => String(line.detail));
    for (
      const setting of [
        "LLM_JOB_BATCH_SIZE",
        "LLM_MAX_BODY_BYTES",
        "LLM_EMBEDDINGS_MAX_INPUTS",
        "LLM_RATE_LIMIT_BURST",
        "LLM_MAX_RETRIES",
        "LLM_KEY_ENCRYPTION_KEYS",
      ]
    ) {
      assert.equal(
        warnings.filter((warning) => warning.includes(setting)).length,
        1,
        `one warning for ${setting} in ${JSON.stringify(warnings)}`,
      );
    }
  } finally {
    await world.close();
  }
});
