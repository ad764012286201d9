/**
 * The body deadline: a body that has not arrived in full by LLM_BODY_TIMEOUT_MS
 * is a 408 (its reader cancelled), while the server keeps serving everyone
 * else, in the function and under `deno task dev`; and llm-router reports bad
 * body and job settings instead of dropping them silently.
 */
import assert from "node:assert/strict";
import { HttpError } from "../supabase/functions/_shared/http/errors.ts";
import { readJsonObject } from "../supabase/functions/_shared/http/body.ts";
import { DeadlineWatch } from "../supabase/functions/_shared/http/deadline-watch.ts";
import { routerHttpWorld } from "./helpers/router-http-world.ts";
import { rawPostHead } from "./helpers/raw-client.ts";
import { startDevProcess } from "./helpers/process.ts";

/** `promise`, or a rejection when it has not settled within `ms` (a hang fails instead of stalling the suite). */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A request whose body sends `first` and then nothing, recording whether it was cancelled. */
function stalledRequest(first: string): { request: Request; cancelled: () => boolean } {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
    },
    cancel() {
      cancelled = true;
    },
  });
  return {
    request: new Request("http://x/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }),
    cancelled: () => cancelled,
  };
}

Deno.test("readJsonObject: a body that stalls past the deadline is a 408 and its reader is cancelled", async () => {
  const { request, cancelled } = stalledRequest('{"prompt":');
  const started = performance.now();
  const error = await within(3_000, readJsonObject(request, 1_024, 100).catch((e) => e));
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 408);
  assert.equal(error.code, "REQUEST_TIMEOUT");
  assert.match(error.message, /100 ms/);
  assert.ok(performance.now() - started < 2_000);
  assert.equal(cancelled(), true);
});

Deno.test("readJsonObject: a body that arrives in time is read whole, chunked or declared", async () => {
  const chunks = ['{"a":', '"b",', '"c":[1,2,3]}'];
  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });
  const request = new Request("http://x/", { method: "POST", body: chunked });
  assert.deepEqual(await readJsonObject(request, 1_024, 1_000), { a: "b", c: [1, 2, 3] });
  const declared = new Request("http://x/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"ok":true}',
  });
  assert.deepEqual(await readJsonObject(declared, 1_024), { ok: true });
});

Deno.test("readJsonObject: a chunked body over the limit is a 413 however it is split", async () => {
  const big = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(200).fill(32));
      controller.close();
    },
  });
  const error = await readJsonObject(new Request("http://x/", { method: "POST", body: big }), 1_024)
    .catch((e) => e);
  assert.equal(error.status, 413);
});

Deno.test("readJsonObject: a declared length is read whole, held to the limit and to the deadline", async () => {
  const post = (length: number, body: BodyInit) =>
    new Request("http://x/", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(length) },
      body,
    });
  assert.deepEqual(await readJsonObject(post(11, '{"ok":true}'), 1_024), { ok: true });

  // Declared over the limit: refused before a byte is read.
  const over = post(2_048, "{}");
  const refused = await readJsonObject(over, 1_024).catch((e) => e);
  assert.equal(refused.status, 413);
  assert.equal(over.bodyUsed, false);

  // A header that understates what arrives (a Request built in-process) is still held to the limit.
  const understated = post(10, JSON.stringify({ pad: "x".repeat(2_000) }));
  assert.equal((await readJsonObject(understated, 1_024).catch((e) => e)).status, 413);

  // A declared body that stalls is a 408 at the deadline.
  const { request: stalled } = stalledRequest('{"prompt":');
  const declaredStall = post(100, stalled.body!);
  const started = performance.now();
  const late = await within(3_000, readJsonObject(declaredStall, 1_024, 100).catch((e) => e));
  assert.equal(late.status, 408);
  assert.equal(late.code, "REQUEST_TIMEOUT");
  assert.ok(performance.now() - started < 2_000);
});

Deno.test("deadline watch: each deadline fires once, not before its length; a met one never fires", () => {
  let now = 0;
  const ticks: (() => void)[] = [];
  const watch = new DeadlineWatch(100, () => now, {
    set: (fn) => ticks.push(fn),
    clear: () => {},
  });
  const tick = () => ticks.shift()!();
  const fired: string[] = [];
  watch.watch(() => fired.push("a"));
  now = 50;
  watch.watch(() => fired.push("b"));
  const metC = watch.watch(() => fired.push("c"));
  metC();
  now = 99;
  tick();
  assert.deepEqual(fired, []);
  now = 100;
  tick();
  assert.deepEqual(fired, ["a"]);
  now = 1_000;
  tick();
  assert.deepEqual(fired, ["a", "b"], "c was met, a fired only once");
  assert.equal(watch.size, 0);
  assert.equal(ticks.length, 0, "nothing watched: no timer is set again");
});

Deno.test("deadline watch: a thousand requests within one tick share one timer", () => {
  let timers = 0;
  const watch = new DeadlineWatch(30_000, () => 0, {
    set: () => timers++,
    clear: () => {},
  });
  for (let i = 0; i < 1_000; i++) watch.watch(() => {})();
  assert.equal(timers, 1);
  assert.equal(watch.size, 0);
});

Deno.test("llm-router: a client trickling its body gets 408 at LLM_BODY_TIMEOUT_MS; others are served meanwhile", async () => {
  const t = await routerHttpWorld({ LLM_BODY_TIMEOUT_MS: "400" });
  try {
    const body = JSON.stringify({ prompt: "hi", maxTokens: 5 });
    const slow = await rawPostHead(t.url, {
      authorization: `Bearer ${t.memberToken}`,
      "content-type": "application/json",
    }, body.length);
    const started = performance.now();
    // One byte every 100 ms: the whole body would take seconds.
    let sent = 0;
    const trickle = (async () => {
      while (sent < body.length && await slow.send(body[sent])) {
        sent++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // While it trickles, a normal request is answered.
    const other = await t.post("", { prompt: "meanwhile", maxTokens: 5 });
    assert.equal(other.status, 200);
    await other.body?.cancel();

    const answer = await slow.firstBytes();
    const waited = performance.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"code":"REQUEST_TIMEOUT"/);
    assert.ok(waited >= 350 && waited < 3_000, `answered after ${waited} ms`);
    assert.ok(sent < body.length, "the body was still arriving");
    slow.close();
    await trickle;

    // And afterwards the server still serves.
    const after = await t.post("", { prompt: "after", maxTokens: 5 });
    assert.equal(after.status, 200);
    await after.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("llm-router: bad body, timeout and job settings are logged as config warnings", async () => {
  const t = await routerHttpWorld({
    LLM_MAX_BODY_BYTES: "lots",
    LLM_BODY_TIMEOUT_MS: "-1",
    LLM_JOB_LEASE_MS: "soon",
    LLM_JOB_BATCH_SIZE: "0",
    LLM_EMBEDDINGS_MAX_INPUTS: "9999",
  });
  try {
    const health = await fetch(`${t.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const warnings = t.logs.filter((line) => line.includes('"config_warning"')).join("\n");
    for (
      const name of [
        "LLM_MAX_BODY_BYTES",
        "LLM_BODY_TIMEOUT_MS",
        "LLM_JOB_LEASE_MS",
        "LLM_JOB_BATCH_SIZE",
        "LLM_EMBEDDINGS_MAX_INPUTS",
      ]
    ) {
      assert.ok(warnings.includes(name), `${name} not warned about:\n${warnings}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("dev: a body trickled to llm-router is a 408; an exposed DEV_HOSTNAME warns that headers have no limit", async () => {
  const dev = await startDevProcess({ LLM_BODY_TIMEOUT_MS: "500", DEV_HOSTNAME: "0.0.0.0" });
  try {
    assert.match(dev.output, /Deno\.serve has no time limit on request headers/);
    const token = /user token:\s+(\S+)/.exec(dev.output)![1];
    const body = JSON.stringify({ prompt: "hi", maxTokens: 5 });
    const slow = await rawPostHead(`${dev.url}/functions/v1/llm-router`, {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    }, body.length);
    await slow.send(body.slice(0, 5));
    const health = await fetch(`${dev.url}/functions/v1/llm-health/live`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const answer = await slow.firstBytes();
    assert.match(answer, /^HTTP\/1\.1 408/);
    slow.close();
  } finally {
    await dev.stop();
  }
});
