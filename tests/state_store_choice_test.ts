/**
 * Which state store a function uses (LLM_STATE_STORE): `auto` picks Upstash
 * when it is configured, else the project's Postgres when SUPABASE_DB_URL is
 * set, else memory; an explicit choice that is not configured falls back to
 * memory with a warning; and the startup summary names the store it chose.
 */
import assert from "node:assert/strict";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { stateStoreFromEnv, stateStoreKind } from "../supabase/functions/_shared/store/from-env.ts";
import { createRouterApp } from "../supabase/functions/llm-router/app.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";
import { testLogger } from "./helpers/logs.ts";
import { DEV_JWT_SECRET } from "./helpers/tokens.ts";

const UPSTASH = {
  UPSTASH_REDIS_REST_URL: "https://example-db.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "upstash-token",
};
const DATABASE = { SUPABASE_DB_URL: "postgresql://postgres@127.0.0.1:5432/postgres" };

/** One migrated PGlite for the file (starting one costs seconds); closed by the last test. */
let pglite: Promise<TestDb> | undefined;
const sharedDb = () => pglite ??= freshDb("pglite");

function choose(env: Record<string, string>, hasDatabase = "SUPABASE_DB_URL" in env) {
  const warnings: string[] = [];
  return { kind: stateStoreKind(mapEnv(env), hasDatabase, warnings), warnings };
}

Deno.test("state store choice: auto is Upstash when configured, else Postgres with a database, else memory", () => {
  assert.deepEqual(choose({ ...UPSTASH, ...DATABASE }), { kind: "upstash", warnings: [] });
  assert.deepEqual(choose(DATABASE), { kind: "postgres", warnings: [] });
  assert.deepEqual(choose({ ...DATABASE, LLM_STATE_STORE: "auto" }), {
    kind: "postgres",
    warnings: [],
  });
  assert.deepEqual(choose({}), { kind: "memory", warnings: [] });
  // A database handed in (the dev server's PGlite, a test's) is not one every isolate shares.
  assert.deepEqual(choose({}, true), { kind: "memory", warnings: [] });
  // Half an Upstash configuration is said, and the next choice is made.
  const half = choose({ UPSTASH_REDIS_REST_URL: UPSTASH.UPSTASH_REDIS_REST_URL, ...DATABASE });
  assert.equal(half.kind, "postgres");
  assert.match(half.warnings[0], /UPSTASH_REDIS_REST_TOKEN/);
  const notUrl = choose({ ...UPSTASH, UPSTASH_REDIS_REST_URL: "example-db.upstash.io" });
  assert.equal(notUrl.kind, "memory");
  assert.match(notUrl.warnings[0], /not an http\(s\) URL/);
});

Deno.test("state store choice: an explicit choice wins; one that is not configured is memory, with a warning", () => {
  const everything = { ...UPSTASH, ...DATABASE };
  assert.deepEqual(choose({ ...everything, LLM_STATE_STORE: "memory" }), {
    kind: "memory",
    warnings: [],
  });
  assert.deepEqual(choose({ ...everything, LLM_STATE_STORE: "postgres" }), {
    kind: "postgres",
    warnings: [],
  });
  assert.deepEqual(choose({ ...everything, LLM_STATE_STORE: " Upstash " }), {
    kind: "upstash",
    warnings: [],
  });
  // The dev server's embedded database counts when Postgres is asked for by name.
  assert.equal(choose({ LLM_STATE_STORE: "postgres" }, true).kind, "postgres");

  const noDatabase = choose({ ...UPSTASH, LLM_STATE_STORE: "postgres" });
  assert.equal(noDatabase.kind, "memory");
  assert.match(noDatabase.warnings[0], /LLM_STATE_STORE=postgres needs a database/);
  const noRedis = choose({ ...DATABASE, LLM_STATE_STORE: "upstash" });
  assert.equal(noRedis.kind, "memory");
  assert.match(noRedis.warnings[0], /LLM_STATE_STORE=upstash needs UPSTASH_REDIS_REST_URL/);

  const typo = choose({ ...DATABASE, LLM_STATE_STORE: "redis" });
  assert.equal(typo.kind, "postgres", "a value it does not know means auto");
  assert.match(typo.warnings[0], /LLM_STATE_STORE must be auto, memory, upstash or postgres/);
});

Deno.test("state store from env: Postgres lives in the function's own database", async () => {
  const database = await sharedDb();
  const warnings: string[] = [];
  const store = await stateStoreFromEnv(
    mapEnv({ ...DATABASE, LLM_STATE_NEAR_CACHE_MS: "0" }),
    Date.now,
    warnings,
    database.db,
  );
  assert.equal(store.kind, "postgres");
  await store.set("k", { v: 1 }, 60_000);
  const rows = await database.db.query<{ value: string }>(
    "select value from llm_state where key = 'k'",
  );
  assert.deepEqual(rows, [{ value: '{"v":1}' }]);
  assert.deepEqual(warnings, []);
});

Deno.test("state store: llm-router's startup summary and health name the store it chose", async () => {
  const database = await sharedDb();
  const logs: string[] = [];
  const background: Promise<unknown>[] = [];
  const app = createRouterApp({
    env: mapEnv({
      ...DATABASE,
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      SUPABASE_SERVICE_ROLE_KEY: "service-key-for-the-store-choice-test",
    }),
    log: testLogger("llm-router", logs),
    db: database.db,
    waitUntil: (work) => void background.push(work),
  });
  try {
    const health = await app(new Request("http://127.0.0.1/functions/v1/llm-router/health"));
    assert.equal((await health.json()).store, "postgres");
    await Promise.all(background);
    const ready = logs.map((line) => JSON.parse(line)).find((l) => l.event === "router_ready");
    assert.equal(ready.store, "postgres");
    assert.match(ready.storeCheck, /^reachable/, "the summary tried the store once");
  } finally {
    await app.close();
    await database.close();
  }
});
