/** llm-router's native API over HTTP, through the real provider adapters and the mock. */
import assert from "node:assert/strict";
import { readSse } from "./helpers/sse.ts";
import { faultyModel, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { signToken } from "./helpers/tokens.ts";
import { rawPost } from "./helpers/raw-client.ts";
import { startJwksServer, userClaims } from "./helpers/jwks-server.ts";
import { eventually } from "./helpers/direct-world.ts";

Deno.test("native: a prompt gets {success, text, provider, model, usage, costUsd} and route headers", async () => {
  const world = await routerHttpWorld();
  try {
    const response = await world.post("", { prompt: "Hello router", useCase: "general" });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.success, true);
    assert.match(body.text, /^Mock reply to: Hello router/);
    assert.equal(body.provider, "openai");
    assert.equal(body.model, "gpt-4o-mini");
    assert.deepEqual(body.toolCalls, []);
    assert.equal(body.finishReason, "stop");
    assert.equal(body.usage.outputTokens, 20);
    assert.ok(body.costUsd > 0);
    assert.equal(response.headers.get("x-llm-provider"), "openai");
    assert.equal(response.headers.get("x-llm-model"), "gpt-4o-mini");
    assert.equal(response.headers.get("x-llm-attempts"), "1");
    assert.equal(response.headers.get("x-llm-fallback-index"), "0");
    assert.ok(Number(response.headers.get("x-llm-overhead-ms")) >= 0);
  } finally {
    await world.close();
  }
});

Deno.test("native: systemPrompt goes first, then the messages; the output cap reaches the provider", async () => {
  const world = await routerHttpWorld();
  try {
    const response = await world.post("", {
      systemPrompt: "Be terse.",
      messages: [{ role: "user", content: "one" }, { role: "assistant", content: "two" }, {
        role: "user",
        content: "three",
      }],
      maxTokens: 64,
      temperature: 0.2,
      modelOverride: "claude-haiku-4-5",
    });
    const body = await response.json();
    assert.equal(body.provider, "anthropic");
    const sent = world.mock.requests[0].body as {
      system: string;
      messages: { role: string }[];
      max_tokens: number;
    };
    assert.equal(world.mock.requests[0].path, "/v1/messages");
    assert.match(String(sent.system), /Be terse\./);
    assert.deepEqual(sent.messages.map((m) => m.role), ["user", "assistant", "user"]);
    assert.equal(sent.max_tokens, 64);
  } finally {
    await world.close();
  }
});

Deno.test("native: systemPrompt and the conversation's system messages become one system prompt, first", async () => {
  const world = await routerHttpWorld();
  try {
    const response = await world.post("", {
      systemPrompt: "Be terse.",
      messages: [
        { role: "user", content: "one" },
        { role: "system", content: "Answer in French." },
        { role: "user", content: "two" },
      ],
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const sent = world.mock.requests[0].body as { messages: { role: string; content: string }[] };
    assert.deepEqual(sent.messages.map((m) => m.role), ["system", "user", "user"]);
    assert.equal(sent.messages[0].content, "Be terse.\n\nAnswer in French.");
  } finally {
    await world.close();
  }
});

Deno.test("native: stream gives start, text, finish with usage and cost, then [DONE]", async () => {
  const world = await routerHttpWorld();
  try {
    const response = await world.post("", { prompt: "stream me", stream: true });
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(response.headers.get("x-llm-model"), "gpt-4o-mini");
    const events = await readSse(response);
    assert.equal(events.at(-1)!.data, "[DONE]");
    const parsed = events.slice(0, -1).map((e) => JSON.parse(e.data));
    assert.deepEqual(parsed[0], { type: "start", provider: "openai", model: "gpt-4o-mini" });
    assert.equal(
      parsed.filter((e) => e.type === "text").map((e) => e.text).join(""),
      "Mock reply to: stream me alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar",
    );
    const finish = parsed.at(-1);
    assert.equal(finish.type, "finish");
    assert.equal(finish.usage.outputTokens, 20);
    assert.ok(finish.costUsd > 0);
  } finally {
    await world.close();
  }
});

Deno.test("native: tools in OpenAI's format; tool calls come back in OpenAI's format", async () => {
  const world = await routerHttpWorld();
  try {
    const response = await world.post("", {
      prompt: "use get_weather for Oslo",
      tools: [{
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
        },
      }],
      toolChoice: "auto",
      modelOverride: "claude-haiku-4-5",
    });
    const body = await response.json();
    assert.equal(body.finishReason, "tool_calls");
    assert.equal(body.toolCalls[0].type, "function");
    assert.equal(body.toolCalls[0].function.name, "get_weather");
    assert.deepEqual(JSON.parse(body.toolCalls[0].function.arguments), { city: "sample-city" });
  } finally {
    await world.close();
  }
});

Deno.test("native: a failing first target falls back, and the headers say so", async () => {
  const primary = faultyModel("gpt-4o-mini", "status=500");
  const world = await routerHttpWorld({
    LLM_MODELS: JSON.stringify([primary]),
    LLM_USE_CASE_CHAINS: JSON.stringify({ general: [primary.id, "claude-haiku-4-5"] }),
  });
  try {
    const response = await world.post("", { prompt: "hi" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-llm-provider"), "anthropic");
    assert.equal(response.headers.get("x-llm-attempts"), "4");
    assert.equal(response.headers.get("x-llm-fallback-index"), "1");
    await response.body?.cancel();
  } finally {
    await world.close();
  }
});

const badBodies: [string, unknown, string][] = [
  ["neither prompt nor messages", {}, "messages"],
  [
    "both prompt and messages",
    { prompt: "a", messages: [{ role: "user", content: "b" }] },
    "prompt",
  ],
  ["an unknown field", { prompt: "a", colour: "red" }, "colour"],
  ["an unknown use case", { prompt: "a", useCase: "poetry" }, "useCase"],
  ["maxTokens not an integer", { prompt: "a", maxTokens: 1.5 }, "maxTokens"],
  ["temperature out of range", { prompt: "a", temperature: 2.5 }, "temperature"],
  [
    "a message with an unknown role",
    { messages: [{ role: "robot", content: "x" }] },
    "messages[0].role",
  ],
  [
    "a tool message without tool_call_id",
    { messages: [{ role: "tool", content: "x" }] },
    "messages[0].tool_call_id",
  ],
  ["an image that is not https or data", {
    messages: [{
      role: "user",
      content: [{ type: "image_url", image_url: { url: "http://x/y.png" } }],
    }],
  }, "messages[0].content[0].image_url.url"],
  ["a model the catalog does not know", { prompt: "a", modelOverride: "gpt-99" }, "modelOverride"],
  ["a tool with a bad name", {
    prompt: "a",
    tools: [{ type: "function", function: { name: "bad name!" } }],
  }, "tools[0].function.name"],
  ["toolChoice naming an undeclared tool", {
    prompt: "a",
    tools: [{ type: "function", function: { name: "t" } }],
    toolChoice: { type: "function", function: { name: "u" } },
  }, "toolChoice"],
  ["maxSteps out of range", { prompt: "a", maxSteps: 50 }, "maxSteps"],
  ["a non-object body", [1, 2], "body"],
];

for (const [name, body, field] of badBodies) {
  Deno.test(`native bad input: ${name} → 400 naming ${field}, no provider call`, async () => {
    const world = await routerHttpWorld();
    try {
      const response = await world.post("", body);
      assert.equal(response.status, 400);
      const json = await response.json();
      assert.equal(json.error.code, "VALIDATION_ERROR");
      assert.equal(json.error.field, field, json.error.message);
      assert.equal(world.mock.requests.length, 0);
    } finally {
      await world.close();
    }
  });
}

Deno.test("native bad input: not JSON → 400 INVALID_JSON", async () => {
  const world = await routerHttpWorld();
  try {
    const response = await world.post("", "{nope");
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error.code, "INVALID_JSON");
  } finally {
    await world.close();
  }
});

Deno.test("native: a request too long for every model is 400 TOKEN_LIMIT_EXCEEDED before any provider call", async () => {
  const world = await routerHttpWorld({
    LLM_USE_CASE_CHAINS: JSON.stringify({ general: ["gpt-4o-mini"] }),
  });
  try {
    const response = await world.post("", { prompt: "lorem ipsum dolor sit amet ".repeat(30_000) });
    assert.equal(response.status, 400);
    const json = await response.json();
    assert.equal(json.error.code, "TOKEN_LIMIT_EXCEEDED");
    assert.equal(world.mock.requests.length, 0);
  } finally {
    await world.close();
  }
});

Deno.test("auth: no token 401, anon key 401, service key ok; another accountId only for the service role and that account's admins", async () => {
  const world = await routerHttpWorld();
  try {
    const none = await fetch(world.url, { method: "POST", body: "{}" });
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error.code, "AUTH_MISSING");
    const anon = await world.post(
      "",
      { prompt: "x" },
      await signToken({ role: "anon", sub: undefined }),
    );
    assert.equal(anon.status, 401);
    await anon.body?.cancel();
    const service = await world.post("", { prompt: "x", accountId: "any-account" }, SERVICE_KEY);
    assert.equal(service.status, 200);
    await service.body?.cancel();
    const member = await world.post("", { prompt: "x", accountId: "someone-else" });
    assert.equal(member.status, 403);
    assert.equal((await member.json()).error.field, "accountId");
    // Admin of their own account, not a member of the other one: still 403 (memberships live in the database).
    const admin = await world.post(
      "",
      { prompt: "x", accountId: "someone-else" },
      world.adminToken,
    );
    assert.equal(admin.status, 403);
    await admin.body?.cancel();
  } finally {
    await world.close();
  }
});

Deno.test("routes: unknown path 404, wrong method 405, health without a token", async () => {
  const world = await routerHttpWorld();
  try {
    const missing = await world.post("/nope", {});
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const wrong = await fetch(`${world.url}/v1/chat/completions`, { method: "GET" });
    assert.equal(wrong.status, 405);
    await wrong.body?.cancel();
    const health = await fetch(`${world.url}/health`);
    const body = await health.json();
    assert.equal(body.status, "ok");
    assert.ok(body.providers.includes("openai"));
  } finally {
    await world.close();
  }
});

Deno.test("logs: a request is logged with provider, model and tokens, never the prompt or a key", async () => {
  const world = await routerHttpWorld();
  try {
    await (await world.post("", { prompt: "my secret prompt text" })).json();
    const line = world.logs.find((l) => l.includes('"llm_request"'))!;
    assert.match(line, /"provider":"openai"/);
    assert.ok(!world.logs.some((l) => l.includes("my secret prompt text")));
    assert.ok(!world.logs.some((l) => l.includes("sk-test-router-openai")));
  } finally {
    await world.close();
  }
});

Deno.test("native: agentId and the caller's account route by LLM_AGENT_PREFERENCES and LLM_ACCOUNT_ROUTES", async () => {
  const world = await routerHttpWorld({
    LLM_AGENT_PREFERENCES: JSON.stringify({
      "writer-1": { model: "claude-haiku-4-5", params: { maxTokens: 77 } },
    }),
    LLM_ACCOUNT_ROUTES: JSON.stringify({ "acct-member": { general: ["gpt-4o"] } }),
  });
  try {
    const agent = await world.post("", { prompt: "x", agentId: "writer-1" });
    assert.equal(agent.headers.get("x-llm-model"), "claude-haiku-4-5");
    assert.equal(agent.headers.get("x-llm-route"), "agent");
    await agent.body?.cancel();
    assert.equal((world.mock.requests[0].body as { max_tokens: number }).max_tokens, 77);
    const account = await world.post("", { prompt: "x" });
    assert.equal(account.headers.get("x-llm-model"), "gpt-4o");
    assert.equal(account.headers.get("x-llm-route"), "account");
    await account.body?.cancel();
  } finally {
    await world.close();
  }
});

Deno.test("native: with LLM_ON_CLIENT_DISCONNECT=abort, a caller disconnecting mid-stream aborts the provider call", async () => {
  const world = await routerHttpWorld({
    LLM_ON_CLIENT_DISCONNECT: "abort",
    LLM_MODELS: JSON.stringify([faultyModel("gpt-4o-mini", "chunk-delay=50")]),
    LLM_USE_CASE_CHAINS: JSON.stringify({ general: ["gpt-4o-mini::chunk-delay=50"] }),
  });
  try {
    const client = await rawPost(world.url, {
      authorization: `Bearer ${world.memberToken}`,
      "content-type": "application/json",
    }, JSON.stringify({ prompt: "x", stream: true }));
    assert.match(await client.firstBytes(), /^HTTP\/1.1 200/);
    client.close();
    await eventually(() => world.mock.requests[0]?.outcome === "aborted");
    assert.ok(world.mock.requests[0].eventsSent < 23);
  } finally {
    await world.close();
  }
});

Deno.test("auth: llm-router accepts Supabase's ES256 user tokens through the project's JWKS", async () => {
  const jwks = await startJwksServer();
  const world = await routerHttpWorld({
    SUPABASE_JWT_SECRET: undefined,
    SUPABASE_URL: jwks.supabaseUrl,
  });
  try {
    const token = await jwks.signEs256(
      userClaims({ iss: jwks.issuer, app_metadata: { account_id: "acct-es" } }),
    );
    const ok = await world.post("", { prompt: "hi" }, token);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const hs256 = await world.post("", { prompt: "hi" }, world.memberToken);
    assert.equal(hs256.status, 401, "no HS256 secret configured: HS256 tokens are refused");
    await hs256.body?.cancel();
  } finally {
    await world.close();
    await jwks.close();
  }
});
