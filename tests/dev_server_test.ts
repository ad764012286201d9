/**
 * `deno task dev` as a newcomer runs it: a fresh process with no env, serving
 * the five functions, with the mock provider, printing a user token and a
 * curl that streams. And with a provider key set, no mock.
 */
import assert from "node:assert/strict";
import { functionNames, startDevProcess } from "./helpers/process.ts";
import { openAIText, readSse } from "./helpers/sse.ts";
import { startMockProvider } from "../scripts/mock-provider.ts";

const startDev = (env: Record<string, string>) => startDevProcess(env, { viaTask: true });

Deno.test("dev: with no env it serves every function, uses the mock, and its printed curl streams", async () => {
  const dev = await startDev({});
  try {
    assert.match(
      dev.output,
      /No provider key in the environment: using the mock provider at http:\/\/127\.0\.0\.1:\d+/,
    );
    for (const name of functionNames()) {
      assert.ok(dev.output.includes(`${dev.url}/functions/v1/${name}`), name);
      const health = await fetch(`${dev.url}/functions/v1/${name}/health`);
      assert.equal(health.status, 200, name);
      await health.body?.cancel();
    }
    // Run the printed curl's request as printed.
    const token = /user token:\s+(\S+)/.exec(dev.output)![1];
    const curlBody = /-d '(.+)'/.exec(dev.output)![1];
    assert.ok(dev.output.includes(`curl -N ${dev.url}/functions/v1/ai-chat-direct`));
    const response = await fetch(`${dev.url}/functions/v1/ai-chat-direct`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: curlBody,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const events = await readSse(response);
    assert.match(openAIText(events), /^Mock reply to: Hello!/);
    assert.equal(events.at(-1)!.data, "[DONE]");
    // The printed router curl answers through the router and the mock.
    const routerBody = [...dev.output.matchAll(/-d '(.+)'/g)][1][1];
    const routed = await fetch(`${dev.url}/functions/v1/llm-router`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: routerBody,
    });
    const answer = await routed.json();
    assert.equal(answer.success, true);
    assert.match(answer.text, /^Mock reply to: Hello!/);
    // The embedded database serves the preferences API.
    const admin = /admin token:\s+(\S+)/.exec(dev.output)![1];
    const put = await fetch(`${dev.url}/functions/v1/llm-router/agents/dev-agent/preferences`, {
      method: "PUT",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-haiku-4-5" }),
    });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal((await put.json()).preference.model, "claude-haiku-4-5");
    // The printed admin token and keys are JWTs signed with the local secret.
    assert.match(dev.output, /admin token:\s+eyJ/);
    assert.match(dev.output, /anon key:\s+eyJ/);
    const unknown = await fetch(`${dev.url}/functions/v1/nope`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  } finally {
    await dev.stop();
  }
});

Deno.test("dev: with OPENAI_API_KEY set it uses that provider, masks the key, and starts no mock", async () => {
  const provider = await startMockProvider();
  const dev = await startDev({
    OPENAI_API_KEY: "sk-real-looking-key-1234567890abcd",
    OPENAI_BASE_URL: provider.openaiBaseUrl,
  });
  try {
    assert.ok(!dev.output.includes("using the mock provider"));
    assert.ok(!dev.output.includes("sk-real-looking-key-1234567890abcd"));
    assert.match(dev.output, /openai\s+key …abcd/);
    const token = /user token:\s+(\S+)/.exec(dev.output)![1];
    const response = await fetch(`${dev.url}/functions/v1/ai-chat-direct`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: "via the configured provider" }],
      }),
    });
    await readSse(response);
    assert.equal(provider.requests.length, 1);
    assert.equal(provider.requests[0].apiKey, "sk-real-looking-key-1234567890abcd");
  } finally {
    await dev.stop();
    await provider.close();
  }
});

Deno.test("dev: with a custom SUPABASE_JWT_SECRET no token is printed", async () => {
  const dev = await startDev({ SUPABASE_JWT_SECRET: "my-own-project-secret-of-at-least-32-chars" });
  try {
    assert.ok(!dev.output.includes("user token:"));
    assert.ok(!dev.output.includes("my-own-project-secret"));
    assert.match(dev.output, /local tokens are not printed/);
  } finally {
    await dev.stop();
  }
});
