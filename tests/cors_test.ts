/** CORS: preflight answered, headers on every response, allow-list honoured. */
import assert from "node:assert/strict";
import { directWorld } from "./helpers/direct-world.ts";
import { routerHttpWorld } from "./helpers/router-http-world.ts";
import { carriesCommonHeaders, createFunctionApp } from "../supabase/functions/_shared/http/app.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { jsonLogger } from "../supabase/functions/_shared/runtime/log.ts";
import { corsHeaders, corsPolicyFrom } from "../supabase/functions/_shared/http/cors.ts";

Deno.test("cors: OPTIONS preflight is 204 with methods, headers and max-age, and needs no token", async () => {
  const world = await directWorld();
  try {
    const response = await world.handler(
      new Request("http://localhost/functions/v1/ai-chat-direct", {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example.com",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      }),
    );
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.match(response.headers.get("access-control-allow-methods")!, /POST/);
    assert.match(response.headers.get("access-control-allow-headers")!, /authorization/);
    assert.match(response.headers.get("access-control-allow-headers")!, /content-type/);
    assert.match(response.headers.get("access-control-allow-headers")!, /x-client-info/);
    assert.equal(response.headers.get("access-control-max-age"), "86400");
    assert.equal(world.mock.requests.length, 0);
  } finally {
    await world.close();
  }
});

Deno.test("cors: streamed success exposes x-llm-path and x-request-id to browser scripts", async () => {
  const world = await directWorld();
  try {
    const response = await world.post({ messages: [{ role: "user", content: "hi" }] });
    const exposed = response.headers.get("access-control-expose-headers")!;
    assert.match(exposed, /x-llm-path/);
    assert.match(exposed, /x-request-id/);
    assert.ok(response.headers.get("x-request-id"));
    await response.body?.cancel();
  } finally {
    await world.close();
  }
});

Deno.test("cors: with CORS_ALLOWED_ORIGINS an allowed origin is echoed and others get no allow-origin", async () => {
  const world = await directWorld({
    env: { CORS_ALLOWED_ORIGINS: "https://app.example.com, https://admin.example.com" },
  });
  try {
    const ask = (origin: string) =>
      world.handler(
        new Request("http://localhost/functions/v1/ai-chat-direct", {
          method: "OPTIONS",
          headers: { origin },
        }),
      );
    const allowed = await ask("https://admin.example.com");
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://admin.example.com");
    assert.equal(allowed.headers.get("vary"), "Origin");
    const denied = await ask("https://evil.example.com");
    assert.equal(denied.headers.get("access-control-allow-origin"), null);
  } finally {
    await world.close();
  }
});

Deno.test("cors: policy parsing treats empty and * as any origin", () => {
  assert.deepEqual(corsPolicyFrom(undefined), { allowedOrigins: "*" });
  assert.deepEqual(corsPolicyFrom(" * "), { allowedOrigins: "*" });
  const headers = corsHeaders(new Request("http://x"), corsPolicyFrom("https://a.example"));
  assert.equal(headers["access-control-allow-origin"], undefined);
});

Deno.test("cors: llm-router's chat answers, JSON and streamed, carry the CORS headers and x-request-id once", async () => {
  const world = await routerHttpWorld({ CORS_ALLOWED_ORIGINS: "https://app.example.com" });
  try {
    for (const stream of [false, true]) {
      const response = await fetch(`${world.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${world.memberToken}`,
          "content-type": "application/json",
          origin: "https://app.example.com",
          "x-request-id": `cors-check-${stream}`,
        },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "hi" }],
          stream,
        }),
      });
      await response.arrayBuffer();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("access-control-allow-origin"), "https://app.example.com");
      assert.equal(response.headers.get("vary"), "Origin");
      assert.match(response.headers.get("access-control-expose-headers")!, /x-llm-cache/);
      assert.equal(response.headers.get("x-request-id"), `cors-check-${stream}`);
      assert.ok(response.headers.get("x-llm-provider"));
    }
  } finally {
    await world.close();
  }
});

Deno.test("cors: a response built with the common headers is sent as built; others get them added", async () => {
  const app = createFunctionApp({
    name: "fn",
    env: mapEnv({}),
    log: jsonLogger("fn", () => {}),
    route: ({ path, commonHeaders }) =>
      path === "/built"
        ? carriesCommonHeaders(new Response("built", { headers: { ...commonHeaders } }))
        : new Response("plain"),
  });
  for (const path of ["/built", "/plain"]) {
    const response = await app(
      new Request(`http://localhost/functions/v1/fn${path}`, {
        headers: { "x-request-id": "common-headers-1" },
      }),
    );
    await response.arrayBuffer();
    assert.equal(response.headers.get("x-request-id"), "common-headers-1", path);
    assert.equal(response.headers.get("access-control-allow-origin"), "*", path);
  }
});
