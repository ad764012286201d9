/**
 * The client SDK (shared/client/mod.ts) in process: retry and fallback
 * decisions, error mapping, auth, deadlines and stream parsing against an
 * injected fetch; and `streamChat` against the direct function's handler.
 */
import assert from "node:assert/strict";
import {
  createRouterClient,
  LLMRouterAuthError,
  LLMRouterError,
  LLMRouterTimeoutError,
  type RouterStreamEvent,
  streamChat,
} from "../shared/client/mod.ts";
import { errorFromResponse } from "../shared/client/error-from-response.ts";
import { fallbackApplies, retryDelayMs } from "../shared/client/retry-policy.ts";
import { durationMs, routeFromHeaders } from "../shared/client/route-info.ts";
import { directWorld } from "./helpers/direct-world.ts";

// --- an injected fetch ---------------------------------------------------------------------

/** One call the fake gateway saw. */
interface SeenCall {
  url: string;
  method: string;
  authorization: string | null;
  body: unknown;
  at: number;
}

/** A fetch answering from `answers` in turn (the last one repeats); a thrown Error is a network failure. */
function fakeGateway(answers: (() => Response | Promise<Response>)[]) {
  const calls: SeenCall[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    calls.push({
      url: String(input),
      method: init?.method ?? "GET",
      authorization: headers.get("authorization"),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      at: Date.now(),
    });
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    const signal = init?.signal;
    if (signal?.aborted) throw signal.reason;
    return await new Promise<Response>((resolve, reject) => {
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      Promise.resolve().then(answer).then(resolve, reject);
    });
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

const errorAnswer = (status: number, error: Record<string, unknown>, headers = {}) => () =>
  Response.json({ error }, { status, headers });

const ANSWER = {
  success: true,
  text: "Hi there",
  provider: "openai",
  model: "gpt-4o-mini",
  toolCalls: [],
  finishReason: "stop",
  usage: { inputTokens: 3, outputTokens: 2, cachedInputTokens: 0, cacheWriteTokens: 0 },
  costUsd: 0.000001,
};
const ok = () =>
  Response.json(ANSWER, {
    headers: {
      "x-llm-provider": "openai",
      "x-llm-model": "gpt-4o-mini",
      "x-llm-attempts": "2",
      "x-llm-fallback-index": "1",
      "x-llm-route": "use-case",
      "x-llm-cache": "MISS",
      "x-llm-overhead-ms": "1.25",
      "x-request-id": "req-1",
      "x-ratelimit-limit-requests": "50",
      "x-ratelimit-remaining-requests": "49",
      "x-ratelimit-reset-requests": "120ms",
    },
  });

function client(
  gateway: { fetch: typeof fetch },
  options: { maxRetries?: number; timeoutMs?: number; getToken?: () => string } = {},
) {
  return createRouterClient({
    url: "http://gateway.test/functions/v1/",
    fetch: gateway.fetch,
    getToken: options.getToken ?? (() => "user-token"),
    ...options,
  });
}

const rejectsWith = async (work: Promise<unknown>, check: (error: LLMRouterError) => void) => {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof LLMRouterError, String(error));
    check(error);
    return true;
  });
};

// --- retry and fallback decisions ------------------------------------------------------------

const failure = (status: number, retryable: boolean, retryAfterMs?: number, code = "X") =>
  new LLMRouterError({ code, message: code, status, retryable, retryAfterMs });

Deno.test("client retry policy: 400, 401, 402 and 403 are never retried, even when marked retryable", () => {
  for (const status of [400, 401, 402, 403]) {
    assert.equal(retryDelayMs(failure(status, true, 10), 0, 5), undefined, String(status));
  }
});

Deno.test("client retry policy: a retryable failure waits its Retry-After, else full jitter under an exponential cap", () => {
  assert.equal(retryDelayMs(failure(429, true, 1_500), 0, 2), 1_500);
  const top = () => 0.999_999;
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((attempt) => retryDelayMs(failure(503, true), attempt, 9, top)),
    [249, 499, 999, 1_999, 3_999, 3_999],
  );
  assert.equal(retryDelayMs(failure(0, true, undefined, "NETWORK"), 0, 2, () => 0), 0);
});

Deno.test("client retry policy: nothing is retried once the retries are used up or when not retryable", () => {
  assert.equal(retryDelayMs(failure(503, true), 2, 2), undefined);
  assert.equal(retryDelayMs(failure(502, false), 0, 2), undefined);
  assert.equal(retryDelayMs(failure(503, true), 0, 0), undefined);
});

Deno.test("client fallback policy: an unreachable router or a retryable 5xx falls back; a 4xx or the caller's abort never", () => {
  assert.equal(fallbackApplies(failure(0, true, undefined, "NETWORK")), true);
  assert.equal(fallbackApplies(new LLMRouterTimeoutError(10)), true);
  assert.equal(fallbackApplies(failure(503, true)), true);
  assert.equal(fallbackApplies(failure(500, false)), false);
  assert.equal(fallbackApplies(failure(429, true, 1_000)), false);
  assert.equal(fallbackApplies(failure(400, false)), false);
  assert.equal(fallbackApplies(failure(0, false, undefined, "ABORTED")), false);
});

// --- error mapping ---------------------------------------------------------------------------

Deno.test("client errors: a JSON error body maps to code, status, retryable, Retry-After, request id and details", async () => {
  const error = await errorFromResponse(
    Response.json({
      error: {
        code: "RATE_LIMIT_EXCEEDED",
        message: "slow down",
        retryable: true,
        retryAfterMs: 700,
        burst: 5,
      },
    }, { status: 429, headers: { "retry-after": "2", "x-request-id": "req-9" } }),
  );
  assert.equal(error.code, "RATE_LIMIT_EXCEEDED");
  assert.equal(error.message, "slow down");
  assert.equal(error.status, 429);
  assert.equal(error.retryable, true);
  assert.equal(error.retryAfterMs, 2_000, "the Retry-After header wins over the body's hint");
  assert.equal(error.requestId, "req-9");
  assert.deepEqual(error.details, { burst: 5 });
  assert.ok(!(error instanceof LLMRouterAuthError));
});

Deno.test("client errors: 401 and 403 are LLMRouterAuthError; a 429 or 503 with a wait is retryable", async () => {
  for (const status of [401, 403]) {
    const error = await errorFromResponse(
      Response.json({ error: { code: "AUTH_INVALID", message: "no" } }, { status }),
    );
    assert.ok(error instanceof LLMRouterAuthError, String(status));
    assert.equal(error.retryable, false);
  }
  const hinted = await errorFromResponse(
    Response.json({ error: { code: "OVERLOADED", message: "busy", retryAfterMs: 300 } }, {
      status: 503,
    }),
  );
  assert.equal(hinted.retryAfterMs, 300);
  assert.equal(hinted.retryable, true, "a 503 with a wait is retryable when the body does not say");
  const limited = await errorFromResponse(
    Response.json({ error: { code: "RATE_LIMIT_EXCEEDED", message: "wait", retryable: false } }, {
      status: 429,
      headers: { "retry-after": "1" },
    }),
  );
  assert.equal(limited.retryable, true, "a 429 with Retry-After is worth the same call after it");
  const unhinted = await errorFromResponse(
    Response.json({ error: { code: "RATE_LIMIT", message: "x", retryable: false } }, {
      status: 429,
    }),
  );
  assert.equal(unhinted.retryable, false);
});

Deno.test("client errors: a non-JSON answer is HTTP_ERROR, retryable only when a proxy says the gateway is down", async () => {
  const down = await errorFromResponse(new Response("<html>Bad gateway</html>", { status: 502 }));
  assert.equal(down.code, "HTTP_ERROR");
  assert.equal(down.retryable, true);
  const broken = await errorFromResponse(new Response("oops", { status: 500 }));
  assert.equal(broken.retryable, false);
  const notFound = await errorFromResponse(new Response("", { status: 404 }));
  assert.equal(notFound.status, 404);
  assert.equal(notFound.retryable, false);
});

Deno.test("client errors: OpenAI-shaped errors of the /v1 API keep the gateway's code", async () => {
  const error = await errorFromResponse(
    Response.json({
      error: {
        message: "bad",
        type: "invalid_request_error",
        code: "VALIDATION_ERROR",
        param: "input",
      },
    }, { status: 400 }),
  );
  assert.equal(error.code, "VALIDATION_ERROR");
  assert.equal(error.details.param, "input");
});

// --- route info ------------------------------------------------------------------------------

Deno.test("client route info: headers become RouteInfo, with the rate-limit bucket and OpenAI durations", () => {
  assert.deepEqual(routeFromHeaders(ok().headers), {
    provider: "openai",
    model: "gpt-4o-mini",
    attempts: 2,
    fallbackIndex: 1,
    source: "use-case",
    cache: "MISS",
    overheadMs: 1.25,
    requestId: "req-1",
    rateLimit: { limit: 50, remaining: 49, resetMs: 120 },
  });
  assert.deepEqual(routeFromHeaders(new Headers({ "x-llm-attempts": "n/a" })), {});
  assert.deepEqual(
    ["1s", "120ms", "6m0s", "1h2m3.5s", "2", "soon", ""].map(durationMs),
    [1_000, 120, 360_000, 3_723_500, 2_000, undefined, undefined],
  );
});

// --- calls with an injected fetch ------------------------------------------------------------

Deno.test("client call: routerCall posts the request with the bearer and returns the typed answer with its route", async () => {
  const gateway = fakeGateway([ok]);
  const answer = await client(gateway).routerCall({ prompt: "Hi", useCase: "general" });
  assert.equal(answer.text, "Hi there");
  assert.equal(answer.route.attempts, 2);
  assert.equal(gateway.calls.length, 1);
  assert.equal(gateway.calls[0].url, "http://gateway.test/functions/v1/llm-router");
  assert.equal(gateway.calls[0].authorization, "Bearer user-token");
  assert.deepEqual(gateway.calls[0].body, { prompt: "Hi", useCase: "general", stream: false });
});

Deno.test("client call: a retryable 503 is retried after its Retry-After, then succeeds", async () => {
  const gateway = fakeGateway([
    errorAnswer(503, { code: "NO_PROVIDER", message: "later", retryable: true }, {
      "retry-after-ms": "60",
    }),
    ok,
  ]);
  const answer = await client(gateway).routerCall({ prompt: "Hi" });
  assert.equal(answer.text, "Hi there");
  assert.equal(gateway.calls.length, 2);
  assert.ok(gateway.calls[1].at - gateway.calls[0].at >= 55, "waited the Retry-After");
});

Deno.test("client call: 400, 401, 402 and 403 reach the caller after one request, even when marked retryable", async () => {
  for (const status of [400, 401, 402, 403]) {
    const gateway = fakeGateway([
      errorAnswer(status, { code: `E${status}`, message: "no", retryable: true }),
    ]);
    await rejectsWith(client(gateway).routerCall({ prompt: "Hi" }), (error) => {
      assert.equal(error.status, status);
      assert.equal(error instanceof LLMRouterAuthError, status === 401 || status === 403);
    });
    assert.equal(gateway.calls.length, 1, String(status));
  }
});

Deno.test("client call: a failed connection is retried; maxRetries bounds the attempts", async () => {
  const flaky = fakeGateway([() => Promise.reject(new TypeError("connection refused")), ok]);
  assert.equal((await client(flaky).routerCall({ prompt: "Hi" })).text, "Hi there");
  assert.equal(flaky.calls.length, 2);

  const dead = fakeGateway([() => Promise.reject(new TypeError("connection refused"))]);
  await rejectsWith(client(dead, { maxRetries: 1 }).routerCall({ prompt: "Hi" }), (error) => {
    assert.equal(error.code, "NETWORK");
    assert.equal(error.status, 0);
  });
  assert.equal(dead.calls.length, 2);
});

Deno.test("client call: a Retry-After longer than the time left is not waited for", async () => {
  const gateway = fakeGateway([
    errorAnswer(429, { code: "RATE_LIMIT_EXCEEDED", message: "wait", retryable: true }, {
      "retry-after": "30",
    }),
  ]);
  const started = Date.now();
  await rejectsWith(
    client(gateway, { timeoutMs: 5_000 }).routerCall({ prompt: "Hi" }),
    (error) => assert.equal(error.retryAfterMs, 30_000),
  );
  assert.ok(Date.now() - started < 1_000);
  assert.equal(gateway.calls.length, 1);
});

Deno.test("client call: no answer within timeoutMs is LLMRouterTimeoutError; the caller's abort is ABORTED", async () => {
  const hanging = fakeGateway([() => new Promise<Response>(() => {})]);
  await rejectsWith(client(hanging, { timeoutMs: 50 }).routerCall({ prompt: "Hi" }), (error) => {
    assert.ok(error instanceof LLMRouterTimeoutError);
    assert.equal(error.code, "TIMEOUT");
    assert.equal(error.status, 0);
  });
  const caller = new AbortController();
  const call = client(hanging).routerCall({ prompt: "Hi" }, { signal: caller.signal });
  caller.abort();
  await rejectsWith(call, (error) => assert.equal(error.code, "ABORTED"));
});

Deno.test("client auth: the bearer comes from getToken, or from the supabase session, asked on every call", async () => {
  const gateway = fakeGateway([ok]);
  let session = { access_token: "first" };
  const supabase = {
    auth: { getSession: () => Promise.resolve({ data: { session } }) },
  };
  const sdk = createRouterClient({
    url: "http://gateway.test/functions/v1",
    fetch: gateway.fetch,
    supabase,
  });
  await sdk.routerCall({ prompt: "a" });
  session = { access_token: "refreshed" };
  await sdk.routerCall({ prompt: "b" });
  assert.deepEqual(gateway.calls.map((c) => c.authorization), ["Bearer first", "Bearer refreshed"]);
});

Deno.test("client callWithFallback: the fallback serves a retryable 5xx but never a 4xx", async () => {
  const down = fakeGateway([
    errorAnswer(503, { code: "NO_PROVIDER", message: "x", retryable: true }),
  ]);
  const fallback = (_request: unknown, error: LLMRouterError) =>
    Promise.resolve(`fallback after ${error.code}`);
  assert.equal(
    await client(down, { maxRetries: 0 }).callWithFallback({ prompt: "Hi" }, fallback),
    "fallback after NO_PROVIDER",
  );
  const bad = fakeGateway([errorAnswer(400, { code: "VALIDATION_ERROR", message: "x" })]);
  await rejectsWith(
    client(bad).callWithFallback({ prompt: "Hi" }, fallback),
    (error) => assert.equal(error.code, "VALIDATION_ERROR"),
  );
});

Deno.test("client invokeLLM: model picks the override or the use case; the answer is flattened", async () => {
  const gateway = fakeGateway([() =>
    Response.json({
      ...ANSWER,
      text: "",
      finishReason: "tool_calls",
      toolCalls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
    })]);
  const sdk = client(gateway);
  const messages = [{ role: "user" as const, content: "Hi" }];
  const result = await sdk.invokeLLM({ messages, model: "claude-haiku-4-5", temperature: 0.1 });
  assert.deepEqual(result.toolCalls, [{ id: "c1", name: "f", arguments: "{}" }]);
  assert.equal(result.finishReason, "tool_calls");
  await sdk.invokeLLM({ messages, model: "auto:summary" });
  await sdk.invokeLLM({ messages, model: "auto" });
  assert.deepEqual(gateway.calls.map((c) => c.body), [
    { messages, modelOverride: "claude-haiku-4-5", temperature: 0.1, stream: false },
    { messages, useCase: "summary", stream: false },
    { messages, stream: false },
  ]);
});

Deno.test("client healthCheck: a 503 report is unhealthy with its report; an unreachable one is null", async () => {
  const report = {
    healthy: false,
    providers: [{ provider: "openai", healthy: false, latency: 5, lastCheck: null, error: "x" }],
    stats: { total: 1, healthy: 0, unhealthy: 1, healthPercentage: 0 },
    timestamp: "2026-01-01T00:00:00.000Z",
  };
  const sick = fakeGateway([() => Response.json(report, { status: 503 })]);
  assert.deepEqual(await client(sick).healthCheck(), { healthy: false, report });
  assert.equal(sick.calls.length, 1, "an unhealthy report is an answer, not retried");
  const gone = fakeGateway([() => Promise.reject(new TypeError("refused"))]);
  assert.deepEqual(await client(gone).healthCheck(), { healthy: false, report: null });
});

// --- streams with an injected fetch ----------------------------------------------------------

const sse = (body: string, headers: Record<string, string> = {}) => () =>
  new Response(body, {
    headers: { "content-type": "text/event-stream", "x-llm-attempts": "1", ...headers },
  });

async function collectEvents(stream: AsyncIterable<RouterStreamEvent>) {
  const events: RouterStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

Deno.test("client stream: native events become typed events, the route first, and final() assembles them", async () => {
  const body = [
    `data: {"type":"start","provider":"anthropic","model":"claude-haiku-4-5"}`,
    `data: {"type":"text","text":"Hel"}`,
    `data: {"type":"text","text":"lo"}`,
    `data: {"type":"tool-call","index":0,"id":"call_a","name":"lookup","argumentsDelta":"{\\"q\\":"}`,
    `data: {"type":"tool-call","index":0,"argumentsDelta":"1}"}`,
    `data: {"type":"finish","finishReason":"tool_calls","usage":{"inputTokens":1,"outputTokens":2,"cachedInputTokens":0,"cacheWriteTokens":0},"costUsd":0.5}`,
    `data: [DONE]`,
    "",
  ].join("\n\n");
  const events = await collectEvents(
    client(fakeGateway([sse(body)])).routerCallStream({ prompt: "x" }),
  );
  assert.deepEqual(events.map((e) => e.type), [
    "route",
    "text",
    "text",
    "tool-call",
    "tool-call",
    "finish",
  ]);
  assert.deepEqual(events[0], {
    type: "route",
    route: { attempts: 1, provider: "anthropic", model: "claude-haiku-4-5" },
  });
  const final = await client(fakeGateway([sse(body)])).routerCallStream({ prompt: "x" }).final();
  assert.equal(final.text, "Hello");
  assert.deepEqual(final.toolCalls, [{ id: "call_a", name: "lookup", arguments: '{"q":1}' }]);
  assert.equal(final.finishReason, "tool_calls");
  assert.equal(final.costUsd, 0.5);
  assert.equal(final.route?.provider, "anthropic");
  assert.ok(final.firstTokenMs !== undefined && final.firstTokenMs <= final.totalMs);
});

Deno.test("client stream: the route's model is the headers' (the catalog's); the start event fills in what they lack", async () => {
  const body =
    `data: {"type":"start","provider":"openai","model":"gpt-4o-mini-2024-07-18"}\n\ndata: [DONE]\n\n`;
  const [route] = await collectEvents(
    client(fakeGateway([sse(body, { "x-llm-model": "gpt-4o-mini" })])).routerCallStream({
      prompt: "x",
    }),
  );
  assert.deepEqual(route, {
    type: "route",
    route: { provider: "openai", model: "gpt-4o-mini", attempts: 1 },
  });
});

Deno.test("client stream: an error event, a cut stream and a refused call each end iteration with one error event", async () => {
  const failed = sse(
    `data: {"type":"start","provider":"openai","model":"m"}\n\ndata: {"type":"text","text":"a"}\n\nevent: error\ndata: {"error":{"code":"STREAM_INTERRUPTED","message":"broke","retryable":true}}\n\n`,
  );
  const events = await collectEvents(
    client(fakeGateway([failed])).routerCallStream({ prompt: "x" }),
  );
  const last = events.at(-1)!;
  assert.equal(last.type, "error");
  assert.equal(last.type === "error" && last.error.code, "STREAM_INTERRUPTED");
  await rejectsWith(
    client(fakeGateway([failed])).routerCallStream({ prompt: "x" }).text(),
    (error) => assert.equal(error.retryable, true),
  );

  const cut = sse(`data: {"type":"text","text":"a"}\n\n`);
  const cutEvents = await collectEvents(
    client(fakeGateway([cut])).routerCallStream({ prompt: "x" }),
  );
  assert.deepEqual(cutEvents.map((e) => e.type), ["route", "text", "error"]);
  assert.equal((cutEvents[2] as { error: LLMRouterError }).error.code, "STREAM_TRUNCATED");

  const refused = fakeGateway([errorAnswer(401, { code: "AUTH_INVALID", message: "who?" })]);
  const refusedEvents = await collectEvents(client(refused).routerCallStream({ prompt: "x" }));
  assert.equal(refusedEvents.length, 1);
  assert.ok((refusedEvents[0] as { error: LLMRouterError }).error instanceof LLMRouterAuthError);
});

Deno.test("client stream: a 503 before the first byte is retried; the stream then flows", async () => {
  const gateway = fakeGateway([
    errorAnswer(503, { code: "NO_PROVIDER", message: "x", retryable: true }, {
      "retry-after-ms": "1",
    }),
    sse(`data: {"type":"text","text":"ok"}\n\ndata: [DONE]\n\n`),
  ]);
  assert.equal(await client(gateway).routerCallStream({ prompt: "x" }).text(), "ok");
  assert.equal(gateway.calls.length, 2);
  assert.equal((gateway.calls[1].body as { stream: boolean }).stream, true);
});

Deno.test("client stream: abort() ends iteration quietly and cancels the body", async () => {
  let cancelled = false;
  const encoder = new TextEncoder();
  const endless = () =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          await new Promise((r) => setTimeout(r, 5));
          controller.enqueue(encoder.encode(`data: {"type":"text","text":"."}\n\n`));
        },
        cancel: () => {
          cancelled = true;
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  const stream = client(fakeGateway([endless])).routerCallStream({ prompt: "x" });
  const seen: string[] = [];
  for await (const event of stream) {
    seen.push(event.type);
    if (seen.length === 3) stream.abort();
  }
  assert.ok(!seen.includes("error"));
  assert.ok(seen.length >= 3 && seen.length < 10);
  assert.equal(cancelled, true);
});

// --- streamChat (the direct functions) -------------------------------------------------------

async function clientWorld(env: Record<string, string> = {}) {
  const world = await directWorld({ env });
  const fetchViaHandler =
    ((input: string, init?: RequestInit) =>
      world.handler(new Request(input, init))) as typeof fetch;
  const pieces: string[] = [];
  /** Streams a reply to "Hi" into `pieces`. */
  const chat = async () => {
    const stream = streamChat({
      url: "http://localhost/functions/v1/ai-chat-direct",
      fetch: fetchViaHandler,
      accessToken: world.token,
      messages: [{ role: "user", content: "Hi" }],
    });
    for await (const text of stream) pieces.push(text);
  };
  return { world, chat, pieces };
}

Deno.test("client: streamChat yields the reply text piece by piece", async () => {
  const { world, chat, pieces } = await clientWorld();
  try {
    await chat();
    assert.equal(pieces.length, 20);
    assert.match(pieces.join(""), /^Mock reply to: Hi/);
  } finally {
    await world.close();
  }
});

Deno.test("client: streamChat throws a JSON error as LLMRouterError with code, status and retry-after", async () => {
  const { world, chat } = await clientWorld({
    DIRECT_CHAT_MODEL: "gpt-4o-mini::status=429,retry-after=9",
  });
  try {
    await rejectsWith(chat(), (error) => {
      assert.equal(error.code, "RATE_LIMIT");
      assert.equal(error.status, 429);
      assert.equal(error.retryAfterMs, 9000);
    });
  } finally {
    await world.close();
  }
});

Deno.test("client: streamChat throws an error event mid-stream after the text that came before it", async () => {
  const { world, chat, pieces } = await clientWorld({ DIRECT_CHAT_MODEL: "gpt-4o-mini::cut=5" });
  try {
    await rejectsWith(chat(), (error) => assert.equal(error.code, "STREAM_TRUNCATED"));
    assert.equal(pieces.length, 4);
  } finally {
    await world.close();
  }
});
