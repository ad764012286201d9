/**
 * Embeddings are bounded at both ends: a request may ask for at most
 * LLM_EMBEDDINGS_MAX_INPUTS inputs and LLM_EMBEDDINGS_MAX_INPUT_BYTES of text,
 * and its answer is fetched in batches (each holding one of the isolate's call
 * slots) and streamed out one vector at a time, pinned to the model that
 * served the first batch.
 */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { LLMRouter } from "../supabase/functions/_shared/llm/router.ts";
import type { RouteOutcome } from "../supabase/functions/_shared/llm/route-types.ts";
import {
  BATCH_FLOATS,
  type EmbeddingJob,
  streamEmbeddings,
} from "../supabase/functions/llm-router/embedding-stream.ts";
import { WorkSlots } from "../supabase/functions/llm-router/work-slots.ts";
import { HttpError } from "../supabase/functions/_shared/http/errors.ts";
import { callJson, routerHttpWorld } from "./helpers/router-http-world.ts";

interface FakeCall {
  input: string[];
  modelOverride?: string;
}

/**
 * A router whose `embed` returns `[text.length, index-in-call, …]` vectors of
 * `dims` floats, failing call number `failOn` (1-based) when set.
 */
function fakeRouter(dims: number, options: { failOn?: number; delayMs?: number } = {}) {
  const calls: FakeCall[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const route = (model: string): RouteOutcome => ({
    provider: "fake",
    model,
    attempts: 1,
    fallbackIndex: 0,
    source: "use-case",
    useCase: "embedding",
    trimmedMessages: 0,
    upstreamMs: 1,
    waitedMs: 0,
  });
  const model = {
    id: "emb-a",
    provider: "fake",
    embeddingDimensions: dims,
    capabilities: { embeddings: true },
  };
  const router = {
    catalog: { get: (id: string) => (id === "emb-a" ? model : undefined), all: () => [model] },
    async embed(request: { input: string[]; modelOverride?: string }, signal: AbortSignal) {
      calls.push({ input: request.input, modelOverride: request.modelOverride });
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      try {
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        if (signal.aborted) throw new LLMError("ABORTED", "The caller went away");
        if (calls.length === options.failOn) {
          throw new LLMError("PROVIDER_ERROR", "upstream broke", { provider: "fake" });
        }
        return {
          embeddings: request.input.map((text, i) => vector(text, i, dims)),
          usage: { inputTokens: request.input.length },
          provider: "fake",
          model: "emb-a-2025",
          costUsd: 0.5,
          route: route(request.modelOverride ?? "emb-a"),
        };
      } finally {
        running--;
      }
    },
  } as unknown as LLMRouter;
  return { router, calls, mostAtOnce: () => mostAtOnce };
}

function vector(text: string, i: number, dims: number): number[] {
  const out = new Array(dims).fill(0.25);
  out[0] = text.length;
  out[1] = i;
  return out;
}

function job(router: LLMRouter, inputs: string[], extra: Partial<EmbeddingJob> = {}): EmbeddingJob {
  return {
    router,
    inputs,
    base64: false,
    slots: new WorkSlots(4, 16),
    signal: new AbortController().signal,
    ...extra,
  };
}

Deno.test("embedding stream: inputs go upstream in batches, pinned to the first batch's model, and stream out in order", async () => {
  const dims = 10_000;
  const perBatch = Math.floor(BATCH_FLOATS / dims);
  const inputs = Array.from({ length: perBatch * 2 + 4 }, (_, i) => "t".repeat(i + 1));
  const fake = fakeRouter(dims);
  const stream = await streamEmbeddings(job(fake.router, inputs, { dimensions: dims }));
  const body = JSON.parse(await new Response(stream.body).text());

  assert.deepEqual(fake.calls.map((c) => c.input.length), [perBatch, perBatch, 4]);
  assert.deepEqual(fake.calls.map((c) => c.modelOverride), [undefined, "emb-a", "emb-a"]);
  assert.equal(body.object, "list");
  assert.equal(body.model, "emb-a-2025");
  assert.deepEqual(body.usage, { prompt_tokens: inputs.length, total_tokens: inputs.length });
  assert.equal(body.data.length, inputs.length);
  body.data.forEach((item: { index: number; embedding: number[] }, index: number) => {
    assert.equal(item.index, index);
    assert.equal(item.embedding[0], inputs[index].length, `vector ${index} belongs to its input`);
    assert.equal(item.embedding.length, dims);
  });
  assert.deepEqual(await stream.end, { ok: true, inputTokens: inputs.length, costUsd: 1.5 });
});

Deno.test("embedding stream: base64 vectors decode to the same floats", async () => {
  const fake = fakeRouter(4);
  const stream = await streamEmbeddings(job(fake.router, ["ab", "abc"], { base64: true }));
  const body = JSON.parse(await new Response(stream.body).text());
  const bytes = Uint8Array.from(atob(body.data[1].embedding), (c) => c.charCodeAt(0));
  assert.deepEqual([...new Float32Array(bytes.buffer)], [3, 1, 0.25, 0.25]);
});

Deno.test("embedding stream: a failing first batch is an error before anything is committed", async () => {
  const fake = fakeRouter(8, { failOn: 1 });
  await assert.rejects(
    streamEmbeddings(job(fake.router, ["a", "b"])),
    (error: unknown) => error instanceof LLMError && error.code === "PROVIDER_ERROR",
  );
});

Deno.test("embedding stream: a later batch failing cuts the body off and reports the failure", async () => {
  const dims = 10_000;
  const perBatch = Math.floor(BATCH_FLOATS / dims);
  const fake = fakeRouter(dims, { failOn: 2 });
  const inputs = Array.from({ length: perBatch + 1 }, () => "x");
  const stream = await streamEmbeddings(job(fake.router, inputs, { dimensions: dims }));
  await assert.rejects(new Response(stream.body).text());
  const end = await stream.end;
  assert.equal(end.ok, false);
  assert.equal(!end.ok && end.error.code, "PROVIDER_ERROR");
});

Deno.test("embedding stream: a reader that goes away aborts the next upstream call", async () => {
  const dims = 10_000;
  const perBatch = Math.floor(BATCH_FLOATS / dims);
  const fake = fakeRouter(dims, { delayMs: 20 });
  const inputs = Array.from({ length: perBatch * 3 }, () => "x");
  const stream = await streamEmbeddings(job(fake.router, inputs, { dimensions: dims }));
  const reader = stream.body.getReader();
  await reader.read();
  await reader.cancel();
  const end = await stream.end;
  assert.equal(!end.ok && end.error.code, "ABORTED");
  assert.ok(fake.calls.length < 3, `${fake.calls.length} upstream calls`);
});

Deno.test("embedding stream: requests sharing an isolate's slots never exceed them", async () => {
  const fake = fakeRouter(10_000, { delayMs: 5 });
  const slots = new WorkSlots(2, 64);
  const inputs = Array.from({ length: 40 }, () => "x");
  await Promise.all(Array.from({ length: 6 }, async () => {
    const stream = await streamEmbeddings(
      job(fake.router, inputs, { dimensions: 10_000, slots }),
    );
    await new Response(stream.body).arrayBuffer();
  }));
  assert.equal(fake.mostAtOnce(), 2);
  assert.equal(slots.busy, 0);
});

Deno.test("work slots: first come first served; a waiter that aborts leaves the line; a full line is a 503", async () => {
  const slots = new WorkSlots(1, 2);
  const first = await slots.acquire();
  const order: string[] = [];
  const gone = new AbortController();
  const b = slots.acquire().then((release) => {
    order.push("b");
    return release;
  });
  const c = slots.acquire(gone.signal).catch((error) => {
    order.push(`c:${error.code}`);
  });
  await assert.rejects(
    slots.acquire(),
    (error: unknown) =>
      error instanceof HttpError && error.status === 503 && error.headers["retry-after"] === "1",
  );
  gone.abort();
  await c;
  const d = slots.acquire().then((release) => {
    order.push("d");
    return release;
  });
  first();
  (await b)();
  (await d)();
  assert.deepEqual(order, ["c:ABORTED", "b", "d"]);
  assert.equal(slots.busy, 0);
});

Deno.test("embeddings API: more inputs or more text than the caps is a 400 naming input, with no provider call", async () => {
  const t = await routerHttpWorld({
    LLM_EMBEDDINGS_MAX_INPUTS: "3",
    LLM_EMBEDDINGS_MAX_INPUT_BYTES: "1024",
  });
  try {
    const url = `${t.url}/v1/embeddings`;
    const many = await callJson("POST", url, t.memberToken, {
      model: "text-embedding-3-small",
      input: ["a", "b", "c", "d"],
    });
    assert.equal(many.status, 400);
    assert.equal(many.json.error.param, "input");
    assert.match(many.json.error.message, /at most 3 entries/);

    // 512 two-byte characters and one more byte: counted in UTF-8, not characters.
    const bytes = await callJson("POST", url, t.memberToken, {
      model: "text-embedding-3-small",
      input: ["é".repeat(512), "x"],
    });
    assert.equal(bytes.status, 400);
    assert.match(bytes.json.error.message, /1025 bytes.*at most 1024/);
    assert.equal(t.mock.requests.length, 0);

    const fits = await callJson("POST", url, t.memberToken, {
      model: "text-embedding-3-small",
      input: ["é".repeat(512)],
      dimensions: 8,
      encoding_format: "float",
    });
    assert.equal(fits.status, 200);
    assert.equal(fits.json.data[0].embedding.length, 8);
  } finally {
    await t.close();
  }
});

Deno.test("embeddings API: a request larger than one batch comes back whole, in order, from one model", async () => {
  const t = await routerHttpWorld();
  try {
    const dims = 3_072;
    const perBatch = Math.floor(BATCH_FLOATS / dims);
    const inputs = Array.from({ length: perBatch + 3 }, (_, i) => `text number ${i}`);
    const whole = await callJson("POST", `${t.url}/v1/embeddings`, t.memberToken, {
      model: "auto",
      input: inputs,
      dimensions: dims,
      encoding_format: "float",
    });
    assert.equal(whole.status, 200, whole.text.slice(0, 300));
    assert.equal(whole.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(whole.json.data.length, inputs.length);
    const upstream = t.mock.requests.filter((r) => r.path === "/v1/embeddings");
    assert.equal(upstream.length, 2);
    assert.equal(new Set(upstream.map((r) => r.model)).size, 1);

    // The last vector is the one a request for that input alone gets.
    const alone = await callJson("POST", `${t.url}/v1/embeddings`, t.memberToken, {
      model: whole.headers.get("x-llm-model"),
      input: inputs.at(-1),
      dimensions: dims,
      encoding_format: "float",
    });
    assert.deepEqual(whole.json.data.at(-1).embedding, alone.json.data[0].embedding);
    assert.equal(whole.json.data.at(-1).index, inputs.length - 1);
    assert.ok(whole.json.usage.prompt_tokens > alone.json.usage.prompt_tokens);
  } finally {
    await t.close();
  }
});
