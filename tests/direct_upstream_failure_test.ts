/**
 * Direct functions when OpenAI fails: before the first byte the caller gets
 * the right status and a JSON error (after a retry where one can help); after
 * streaming started, an SSE `event: error` and the end of the stream.
 */
import assert from "node:assert/strict";
import { directWorld, eventually, serveOnLoopback } from "./helpers/direct-world.ts";
import { readSse } from "./helpers/sse.ts";
import { rawPost } from "./helpers/raw-client.ts";

const hello = { messages: [{ role: "user", content: "Hello" }] };

async function withFault(
  fault: string,
  env: Record<string, string>,
  check: (response: Response, world: Awaited<ReturnType<typeof directWorld>>) => Promise<void>,
) {
  const world = await directWorld({ env: { DIRECT_CHAT_MODEL: `gpt-4o-mini::${fault}`, ...env } });
  try {
    await check(await world.post(hello), world);
  } finally {
    await world.close();
  }
}

/** Failures before the first byte: fault, extra env, then status, code, retryable, upstream attempts. */
const beforeFirstByte: [string, string, Record<string, string>, number, string, boolean, number][] =
  [
    [
      "429 with a long retry-after is passed on, not waited for",
      "status=429,retry-after=7",
      {},
      429,
      "RATE_LIMIT",
      true,
      1,
    ],
    [
      "500 every time: retried DIRECT_MAX_RETRIES times",
      "status=500",
      { DIRECT_MAX_RETRIES: "2" },
      502,
      "PROVIDER_ERROR",
      true,
      3,
    ],
    ["503 overloaded", "status=503", { DIRECT_MAX_RETRIES: "0" }, 502, "PROVIDER_ERROR", true, 1],
    [
      "context_length_exceeded is the caller's, never retried",
      "status=400,code=context_length_exceeded",
      {},
      400,
      "TOKEN_LIMIT_EXCEEDED",
      false,
      1,
    ],
    ["another 4xx is ours, never retried", "status=404", {}, 502, "PROVIDER_ERROR", false, 1],
    ["a connection reset is retried, then reported", "reset", {}, 503, "NETWORK", true, 2],
    [
      "a hang ends at DIRECT_FIRST_BYTE_TIMEOUT_MS",
      "hang",
      { DIRECT_FIRST_BYTE_TIMEOUT_MS: "150", DIRECT_MAX_RETRIES: "0" },
      504,
      "TIMEOUT",
      true,
      1,
    ],
  ];

for (const [name, fault, env, status, code, retryable, attempts] of beforeFirstByte) {
  Deno.test(`before the first byte, ${name}: ${status} ${code}`, async () => {
    await withFault(fault, env, async (response, world) => {
      assert.equal(response.status, status);
      assert.equal(response.headers.get("access-control-allow-origin"), "*");
      const body = await response.json();
      assert.equal(body.error.code, code);
      assert.equal(body.error.retryable, retryable);
      assert.equal(world.mock.requests.length, attempts);
    });
  });
}

Deno.test("upstream 429 with a long retry-after: the Retry-After header reaches the caller", async () => {
  await withFault("status=429,retry-after=7", {}, async (response) => {
    assert.equal(response.headers.get("retry-after"), "7");
    await response.body?.cancel();
  });
});

Deno.test("upstream 429 once with a short retry-after: waited for, retried, streamed", async () => {
  await withFault("status=429,retry-after=1,times=1", {}, async (response, world) => {
    assert.equal(response.status, 200);
    assert.equal((await readSse(response)).at(-1)!.data, "[DONE]");
    assert.equal(world.mock.requests.length, 2);
    assert.deepEqual(world.sleeps, [1000]);
  });
});

Deno.test("upstream 500 once: retried after a jittered backoff, then streamed", async () => {
  await withFault("status=500,times=1", {}, async (response, world) => {
    assert.equal(response.status, 200);
    await readSse(response);
    assert.equal(world.mock.requests.length, 2);
    assert.equal(world.sleeps.length, 1);
    assert.ok(world.sleeps[0] >= 0 && world.sleeps[0] <= 200);
  });
});

Deno.test("upstream rejects the server's key: 502 INVALID_API_KEY, never retried, key not echoed", async () => {
  const world = await directWorld({ env: { OPENAI_API_KEY: "sk-invalid-0123456789abcdef" } });
  try {
    const response = await world.post(hello);
    assert.equal(response.status, 502);
    const text = await response.text();
    assert.equal(JSON.parse(text).error.code, "INVALID_API_KEY");
    assert.ok(!text.includes("0123456789abcdef"));
    assert.equal(world.mock.requests.length, 1);
  } finally {
    await world.close();
  }
});

for (
  const [fault, code, dataEvents] of [
    ["error-event=3", "PROVIDER_ERROR", 3],
    ["malformed=3", "MALFORMED_STREAM", 2],
    ["reset-after=3", "STREAM_INTERRUPTED", 3],
    ["cut=3", "STREAM_TRUNCATED", 3],
  ] as const
) {
  Deno.test(`mid-stream ${fault}: the chunks so far, then event: error ${code}, no [DONE]`, async () => {
    await withFault(fault, {}, async (response) => {
      assert.equal(response.status, 200);
      const events = await readSse(response);
      const last = events.at(-1)!;
      assert.equal(last.event, "error");
      const error = JSON.parse(last.data).error;
      assert.equal(error.code, code);
      assert.equal(typeof error.message, "string");
      assert.equal(error.retryable, true);
      assert.equal(events.filter((e) => e.event === undefined).length, dataEvents);
      assert.ok(!events.some((e) => e.data === "[DONE]"));
    });
  });
}

Deno.test("upstream stalls mid-stream: event: error TIMEOUT after DIRECT_IDLE_TIMEOUT_MS, upstream aborted", async () => {
  await withFault("chunk-delay=400", { DIRECT_IDLE_TIMEOUT_MS: "120" }, async (response, world) => {
    const events = await readSse(response);
    assert.equal(JSON.parse(events.at(-1)!.data).error.code, "TIMEOUT");
    await eventually(() => world.mock.requests[0].outcome === "aborted");
  });
});

/** A function served on loopback for `model`, and a raw client that has sent `hello` to it. */
async function servedWithRawClient(model: string) {
  const world = await directWorld({ env: { DIRECT_CHAT_MODEL: model } });
  const server = serveOnLoopback(world.handler);
  const client = await rawPost(`${server.url}/functions/v1/ai-chat-direct`, {
    authorization: `Bearer ${world.token}`,
    "content-type": "application/json",
  }, JSON.stringify(hello));
  return { world, server, client };
}

Deno.test("client disconnects mid-stream: the upstream request is aborted", async () => {
  const { world, server, client } = await servedWithRawClient("gpt-4o-mini::chunk-delay=50");
  try {
    assert.match(await client.firstBytes(), /^HTTP\/1.1 200/);
    client.close();
    await eventually(() => world.mock.requests[0]?.outcome === "aborted");
    assert.ok(world.mock.requests[0].eventsSent < 22);
    await eventually(() => world.logs.some((line) => line.includes('"outcome":"client_aborted"')));
  } finally {
    await server.close();
    await world.close();
  }
});

Deno.test("client disconnects while the upstream is still silent: the upstream request is aborted", async () => {
  const { world, server, client } = await servedWithRawClient("gpt-4o-mini::hang");
  try {
    await eventually(() => world.mock.requests.length === 1);
    client.close();
    // The mock marks a hung request aborted when its client (the function) hangs up.
    await eventually(() => world.mock.requests[0].outcome === "aborted");
    // server.close() waits for in-flight handlers: it returns promptly only if the upstream wait was aborted.
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 1_000, "the handler kept waiting on the upstream");
    assert.equal(world.mock.requests.length, 1, "no retry after the client left");
  } finally {
    await world.close();
  }
});
