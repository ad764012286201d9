/**
 * The direct functions' router path: users rolled onto llm-router are served
 * through its OpenAI-compatible API with their own token, in the same stream
 * format, and llm-router's errors pass through with their codes.
 */
import assert from "node:assert/strict";
import { directWorld } from "./helpers/direct-world.ts";
import { routerHttpWorld } from "./helpers/router-http-world.ts";
import { openAIText, readSse } from "./helpers/sse.ts";

const hello = { messages: [{ role: "user", content: "Hello via the router" }] };

Deno.test("router path: a routed user streams from llm-router, same format, x-llm-path: router", async () => {
  const router = await routerHttpWorld();
  const direct = await directWorld({
    env: { ENABLE_LLM_ROUTER: "true", LLM_ROUTER_URL: router.url },
  });
  try {
    const response = await direct.post(hello);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-llm-path"), "router");
    assert.equal(response.headers.get("x-llm-model"), "gpt-4o-mini");
    const events = await readSse(response);
    assert.match(openAIText(events), /^Mock reply to: Hello via the router/);
    assert.equal(events.at(-1)!.data, "[DONE]");
    assert.equal(direct.mock.requests.length, 0, "OpenAI was not called directly");
    const sent = router.mock.requests[0].body as { messages: { role: string; content: string }[] };
    assert.equal(sent.messages[0].role, "system");
    assert.match(sent.messages[0].content, /in-app assistant/);
  } finally {
    await direct.close();
    await router.close();
  }
});

Deno.test("router path: without LLM_ROUTER_URL the router is found under SUPABASE_URL", async () => {
  const router = await routerHttpWorld();
  const supabaseUrl = router.url.replace(/\/functions\/v1\/llm-router$/, "");
  const direct = await directWorld({
    env: { ENABLE_LLM_ROUTER: "true", SUPABASE_URL: supabaseUrl, SUPABASE_JWT_ISSUER: "none" },
  });
  try {
    const response = await direct.post(hello);
    assert.equal(response.headers.get("x-llm-path"), "router");
    await readSse(response);
    assert.equal(router.mock.requests.length, 1);
  } finally {
    await direct.close();
    await router.close();
  }
});

Deno.test("router path: llm-router's error status and code pass through, tagged with the path", async () => {
  const router = await routerHttpWorld();
  const direct = await directWorld({
    env: {
      ENABLE_LLM_ROUTER: "true",
      LLM_ROUTER_URL: router.url,
      DIRECT_ROUTER_MODEL: "no-such-model",
    },
  });
  try {
    const response = await direct.post(hello);
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("x-llm-path"), "router");
    assert.equal((await response.json()).error.code, "VALIDATION_ERROR");
    assert.equal(router.mock.requests.length, 0);
  } finally {
    await direct.close();
    await router.close();
  }
});

Deno.test("router path: an unreachable router is 503 NETWORK, not retried by the direct function", async () => {
  const direct = await directWorld({
    env: {
      ENABLE_LLM_ROUTER: "true",
      LLM_ROUTER_URL: "http://127.0.0.1:9/functions/v1/llm-router",
    },
  });
  try {
    const response = await direct.post(hello);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("x-llm-path"), "router");
    assert.equal((await response.json()).error.code, "NETWORK");
    assert.deepEqual(direct.sleeps, []);
  } finally {
    await direct.close();
  }
});
