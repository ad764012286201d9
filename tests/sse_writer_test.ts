/**
 * The SSE writer every dialect's stream goes through: heartbeat comments
 * whenever nothing was written for a while (from the start, while a stream
 * committed early still waits for its first event), none once the body has
 * ended; `finish` written last, with the cost of the stream's completion;
 * and a failure after the first byte as the dialect's error event.
 */
import assert from "node:assert/strict";
import { HEARTBEAT, sseBody } from "../supabase/functions/_shared/dialects/sse-writer.ts";
import type { StreamRenderer } from "../supabase/functions/_shared/dialects/chat-dialect.ts";
import { streamErrorEvent } from "../supabase/functions/_shared/dialects/stream-error.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { StreamCompletion } from "../supabase/functions/_shared/llm/route-types.ts";
import type { LLMStreamEvent } from "../supabase/functions/_shared/llm/types.ts";
import { batchedEvents, batchesOf } from "../supabase/functions/_shared/llm/event-batches.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes each event as `data: <type>`, a finish with its cost. */
const plain: StreamRenderer = {
  event: (event) =>
    event.type === "finish" ? `data: finish ${event.costUsd}\n\n` : `data: ${event.type}\n\n`,
  error: streamErrorEvent,
};

const usage = { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0 };
/** How the streams here end, unless a test says otherwise. */
const completion: Promise<StreamCompletion> = Promise.resolve({
  ok: true,
  usage,
  finishReason: "stop",
  costUsd: 0.25,
});

/** Events with a pause before each (`[ms, event]`), then an optional failure. */
async function* paced(
  steps: [number, LLMStreamEvent][],
  failure?: LLMError,
): AsyncGenerator<LLMStreamEvent> {
  for (const [ms, event] of steps) {
    await sleep(ms);
    yield event;
  }
  if (failure) throw failure;
}

async function written(body: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(body).text();
}

Deno.test("sse writer: heartbeats while the first event is awaited and between slow events", async () => {
  const events = paced([
    [70, { type: "start", provider: "p", model: "m" }],
    [5, { type: "text-delta", text: "a" }],
    [70, { type: "finish", finishReason: "stop", usage }],
  ]);
  const text = await written(
    sseBody({ events, completion, abort: () => {} }, plain, { heartbeatMs: 25 }),
  );
  const [beforeStart, afterStart] = text.split("data: start\n\n");
  assert.ok(beforeStart.length > 0 && beforeStart.split(HEARTBEAT).every((s) => s === ""));
  assert.ok(beforeStart.split(HEARTBEAT).length - 1 >= 2, "heartbeats before the first event");
  assert.match(afterStart, /^data: text-delta\n\n(: keep-alive\n\n)+data: finish 0.25\n\n$/);
});

Deno.test("sse writer: no heartbeat without a heartbeat setting, and none after the end", async () => {
  const quiet = await written(
    sseBody({
      events: paced([[40, { type: "start", provider: "p", model: "m" }]]),
      completion,
      abort: () => {},
    }, plain),
  );
  assert.equal(quiet, "data: start\n\n");
  // Ends at once: a timer left running would fail the test's leak check.
  const fast = await written(
    sseBody(
      {
        events: paced([[0, { type: "start", provider: "p", model: "m" }]]),
        completion,
        abort: () => {},
      },
      plain,
      { heartbeatMs: 10_000 },
    ),
  );
  assert.equal(fast, "data: start\n\n");
});

Deno.test("sse writer: a failure after the first byte ends the stream with the error event", async () => {
  const failure = new LLMError("TIMEOUT", "The request deadline passed", { retryable: true });
  const text = await written(
    sseBody(
      {
        events: paced([[0, { type: "start", provider: "p", model: "m" }]], failure),
        completion: Promise.resolve({ ok: false, error: failure }),
        abort: () => {},
      },
      plain,
      { heartbeatMs: 1_000 },
    ),
  );
  assert.equal(
    text,
    'data: start\n\nevent: error\ndata: {"error":{"code":"TIMEOUT","message":"The request deadline passed","retryable":true}}\n\n',
  );
});

Deno.test("sse writer: a caller leaving with onClientGone=abort stops the upstream and the heartbeats", async () => {
  let aborted = false;
  const leaving = new AbortController();
  const body = sseBody(
    {
      events: (async function* (): AsyncGenerator<LLMStreamEvent> {
        yield { type: "start", provider: "p", model: "m" };
        await new Promise(() => {}); // an upstream that never sends again
      })(),
      completion: new Promise<StreamCompletion>(() => {}),
      abort: () => aborted = true,
    },
    plain,
    { heartbeatMs: 10, clientSignal: leaving.signal, onClientGone: "abort" },
  );
  const reader = body.getReader();
  await reader.read();
  leaving.abort();
  assert.equal(aborted, true);
  await reader.cancel();
});

Deno.test("sse writer: finish goes out after the last event, with the completion's cost, not the event's", async () => {
  const text = await written(
    sseBody({
      events: paced([
        [0, { type: "start", provider: "p", model: "m" }],
        [0, { type: "finish", finishReason: "stop", usage }],
      ]),
      completion,
      abort: () => {},
    }, plain),
  );
  assert.equal(text, "data: start\n\ndata: finish 0.25\n\n");
});

Deno.test("sse writer: the events of one upstream read go out as one write, finish last", async () => {
  const events = batchedEvents((async function* () {
    yield [
      { type: "start", provider: "p", model: "m" },
      { type: "text-delta", text: "a" },
      { type: "text-delta", text: "b" },
    ] as LLMStreamEvent[];
    yield [{ type: "finish", finishReason: "stop", usage }] as LLMStreamEvent[];
  })());
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of sseBody({ events, completion, abort: () => {} }, plain)) {
    chunks.push(decoder.decode(chunk));
  }
  // One socket write for the read's three events, one for the finish held to the end.
  assert.deepEqual(chunks, [
    "data: start\n\ndata: text-delta\n\ndata: text-delta\n\n",
    "data: finish 0.25\n\n",
  ]);
});

Deno.test("event batches: read whole or one event at a time; plain iterables become single-event batches", async () => {
  const source = () =>
    batchedEvents((async function* () {
      yield [{ type: "text-delta", text: "a" }, {
        type: "text-delta",
        text: "b",
      }] as LLMStreamEvent[];
    })());
  const flat: LLMStreamEvent[] = [];
  for await (const event of source()) flat.push(event);
  assert.equal(flat.length, 2);
  const whole: LLMStreamEvent[][] = [];
  for await (const batch of batchesOf(source())) whole.push(batch);
  assert.equal(whole.length, 1);
  const single: LLMStreamEvent[][] = [];
  for await (const batch of batchesOf(paced([[0, { type: "text-delta", text: "x" }]]))) {
    single.push(batch);
  }
  assert.deepEqual(single, [[{ type: "text-delta", text: "x" }]]);
});
