/**
 * The one chat pipeline behind every entrance: a bad body is refused before
 * any key is decrypted or any store or database is touched; a request's cost
 * is the router's one computation, whether answered as JSON or as SSE; a
 * slow stream is kept alive with heartbeat comments; the prompt an audit
 * keeps never reaches a log line.
 */
import assert from "node:assert/strict";
import {
  MemoryStateStore,
  type StateStore,
} from "../supabase/functions/_shared/store/state-store.ts";
import type { Db } from "../supabase/functions/_shared/store/db.ts";
import { callJson, faultyModel, routerHttpWorld } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { readSse } from "./helpers/sse.ts";

const ACCOUNT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const MASTER_KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i + 3)));

/** `target` with every method call counted in `calls` (by method name). */
function counted<T extends object>(target: T, calls: string[]): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return value.apply(object, args);
      };
    },
  });
}

const parsed = (logs: string[], event: string) =>
  logs.map((line) => JSON.parse(line)).filter((line) => line.event === event);

Deno.test("pipeline: a bad body is a 400 before any key is decrypted or any store or database is touched", async () => {
  const database = await freshDb();
  const storeCalls: string[] = [];
  const dbCalls: string[] = [];
  const world = await routerHttpWorld({
    LLM_KEY_ENCRYPTION_KEYS: `v1:${MASTER_KEY}`,
    LLM_CACHE_TTL_MS: "0",
  }, {
    db: counted<Db>(database.db, dbCalls),
    store: counted<StateStore>(new MemoryStateStore(), storeCalls),
  });
  try {
    const admin = await signToken({
      sub: crypto.randomUUID(),
      app_metadata: { account_id: ACCOUNT, role: "admin" },
    });
    const put = await callJson("PUT", `${world.url}/providers/openai/key`, admin, {
      apiKey: "sk-tenant-0123456789abcdefXYZ",
    });
    assert.equal(put.status, 200, put.text);
    // The stored key no longer decrypts: any request that got as far as decrypting would fail.
    await database.db.query("update llm_provider_keys set ciphertext = reverse(ciphertext)");
    await world.settle();
    storeCalls.length = 0;
    dbCalls.length = 0;

    // Checks of the schema, and checks that need the catalog (a known model, a declared tool).
    for (
      const [body, field] of [
        [{ prompt: "x", temperature: 9 }, "temperature"],
        [{ prompt: "x", modelOverride: "gpt-99" }, "modelOverride"],
        [{ prompt: "x", toolChoice: { type: "function", function: { name: "t" } } }, "toolChoice"],
      ] as const
    ) {
      const native = await callJson("POST", world.url, admin, body);
      assert.equal(native.status, 400, native.text);
      assert.equal(native.json.error.code, "VALIDATION_ERROR");
      assert.equal(native.json.error.field, field);
    }
    const openai = await callJson("POST", `${world.url}/v1/chat/completions`, admin, {
      model: "gpt-99",
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(openai.status, 400, openai.text);
    assert.equal(openai.json.error.param, "model");
    assert.deepEqual(storeCalls, [], "the state store saw no operation");
    assert.deepEqual(dbCalls, [], "the database saw no query");

    // The same caller with a good body does reach the key, and is refused for it.
    const good = await callJson("POST", world.url, admin, { prompt: "x" });
    assert.equal(good.status, 500);
    assert.equal(good.json.error.code, "KEY_UNAVAILABLE");
    assert.equal(world.mock.requests.length, 0);
  } finally {
    await world.close();
    await database.close();
  }
});

Deno.test("pipeline: the JSON and the SSE answer of one request report the same cost, the router's", async () => {
  const world = await routerHttpWorld();
  try {
    const json = await world.post("", { prompt: "price me", useCase: "general" });
    assert.equal(json.status, 200);
    const answer = await json.json();
    const stream = await world.post("", { prompt: "price me", useCase: "general", stream: true });
    const events = await readSse(stream);
    assert.equal(events.at(-1)!.data, "[DONE]");
    const finish = JSON.parse(events.at(-2)!.data);
    assert.equal(finish.type, "finish");
    assert.deepEqual(finish.usage, answer.usage);
    assert.ok(answer.costUsd > 0);
    assert.equal(finish.costUsd, answer.costUsd);
    await world.settle();
    // What was recorded is the same number: one computation, reported everywhere.
    const reported = parsed(world.logs, "llm_request").map((line) => line.costUsd);
    assert.deepEqual(reported, [answer.costUsd, answer.costUsd]);
  } finally {
    await world.close();
  }
});

Deno.test("pipeline: a stream that falls silent gets `: keep-alive` comments, and its events still arrive whole", async () => {
  const slow = faultyModel("gpt-4o-mini", "words=1,chunk-delay=1700");
  const world = await routerHttpWorld({
    LLM_SSE_HEARTBEAT_MS: "1000",
    LLM_MODELS: JSON.stringify([slow]),
    LLM_USE_CASE_CHAINS: JSON.stringify({ general: [slow.id] }),
  });
  try {
    const response = await world.post("", { prompt: "x", stream: true });
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /\n\n: keep-alive\n\n/, text);
    const heartbeats = text.split(": keep-alive\n\n").length - 1;
    assert.ok(heartbeats >= 2, `one per silent gap: ${heartbeats}`);
    const data = text.split("\n\n").filter((block) => block.startsWith("data: "))
      .map((block) => block.slice("data: ".length));
    assert.equal(data.at(-1), "[DONE]");
    const types = data.slice(0, -1).map((payload) => JSON.parse(payload).type);
    assert.equal(types[0], "start");
    assert.equal(types.at(-1), "finish");
  } finally {
    await world.close();
  }
});

Deno.test("pipeline: a stream committed before its first event sends its headers at once, then heartbeats until the event", async () => {
  const thinking = faultyModel("gpt-4o-mini", "delay=1700,words=2");
  const world = await routerHttpWorld({
    LLM_STREAM_COMMIT_AFTER_MS: "100",
    LLM_SSE_HEARTBEAT_MS: "1000",
    LLM_MODELS: JSON.stringify([thinking]),
    LLM_USE_CASE_CHAINS: JSON.stringify({ general: [thinking.id] }),
  });
  try {
    const sent = performance.now();
    const response = await world.post("", { prompt: "x", stream: true });
    assert.equal(response.status, 200);
    assert.ok(performance.now() - sent < 1_000, "the 200 did not wait for the first event");
    const text = await response.text();
    assert.ok(text.startsWith(": keep-alive\n\ndata: "), text);
    assert.ok(text.endsWith("data: [DONE]\n\n"), text);
  } finally {
    await world.close();
  }
});

Deno.test("pipeline: with LLM_AUDIT_PROMPTS the prompt is kept for the audit only, never in a log line", async () => {
  const broken = faultyModel("gpt-4o-mini", "status=400");
  const world = await routerHttpWorld({
    LLM_AUDIT_PROMPTS: "true",
    LLM_MODELS: JSON.stringify([broken]),
    LLM_USE_CASE_CHAINS: JSON.stringify({ general: [broken.id] }),
  });
  try {
    const ok = await world.post("", { prompt: "a very private prompt", useCase: "draft" });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const failed = await world.post("", { prompt: "another private prompt", useCase: "general" });
    assert.equal(failed.status, 502, "the only target refused it");
    await failed.body?.cancel();
    await world.settle();
    assert.equal(parsed(world.logs, "llm_request").length, 1);
    assert.equal(parsed(world.logs, "llm_request_failed").length, 1);
    assert.ok(!world.logs.some((line) => line.includes("private prompt")), world.logs.join("\n"));
  } finally {
    await world.close();
  }
});
