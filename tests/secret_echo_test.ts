/**
 * An upstream error that echoes the key it was sent (URL-encoded, base64'd,
 * JSON-escaped, masked behind an unknown prefix) never reaches a response
 * body or a log line: not through llm-router with the platform's key, not
 * with an account's own key, not through the direct path.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld } from "./helpers/router-http-world.ts";
import { directWorld } from "./helpers/direct-world.ts";
import { ECHO_FORMS, type EchoForm, startEchoUpstream } from "./helpers/echo-upstream.ts";
import { freshDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { encodedForms } from "../supabase/functions/_shared/runtime/secret-scrubber.ts";
import { createRouterApp } from "../supabase/functions/llm-router/app.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { testLogger } from "./helpers/logs.ts";
import { DEV_JWT_SECRET } from "./helpers/tokens.ts";

const PLATFORM_KEY = "tnt+live/Key0123456789=abcdefXYZ";
const TENANT_KEY = "tnt+byok/Key9876543210=zyxwvuABC";
const ACCOUNT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const MASTER_KEY = btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i + 3)));
const FORMS = Object.keys(ECHO_FORMS) as EchoForm[];

/** Every way `key` could show: its encoded forms, the echoes themselves, and a long run of it. */
function leaksOf(key: string): string[] {
  return [
    ...encodedForms(key),
    ...FORMS.map((form) => ECHO_FORMS[form](key)),
    key.slice(0, 8),
    key.slice(8, -4),
  ];
}

function assertNoLeak(texts: readonly string[], key: string, where: string): void {
  for (const text of texts) {
    for (const leak of leaksOf(key)) {
      assert.ok(!text.includes(leak), `${where} holds ${leak.slice(0, 6)}…: ${text.slice(0, 300)}`);
    }
  }
}

Deno.test("secret echoes: llm-router's responses and logs hold no form of the platform key", async () => {
  const echo = startEchoUpstream();
  const world = await routerHttpWorld({
    OPENAI_API_KEY: PLATFORM_KEY,
    OPENAI_BASE_URL: echo.url,
    ANTHROPIC_API_KEY: undefined,
    GEMINI_API_KEY: undefined,
  });
  try {
    const bodies: string[] = [];
    for (const form of FORMS) {
      echo.form = form;
      const response = await world.post("", { prompt: `echo ${form}` });
      const text = await response.text();
      assert.equal(response.status, 502, text);
      bodies.push(text);
    }
    await world.settle();
    assert.ok(echo.keys.length >= FORMS.length && echo.keys.every((k) => k === PLATFORM_KEY));
    // The echo did come through, scrubbed: the provider's words are there, its key is not.
    assert.ok(bodies.some((body) => body.includes("[redacted]")), bodies[0]);
    assertNoLeak(bodies, PLATFORM_KEY, "a response");
    assert.ok(world.logs.some((line) => line.includes("Incorrect API key provided")));
    assertNoLeak(world.logs, PLATFORM_KEY, "a log line");
  } finally {
    await world.close();
    await echo.close();
  }
});

Deno.test("secret echoes: an account's own key is scrubbed the same way", async () => {
  const echo = startEchoUpstream();
  const database = await freshDb();
  const world = await routerHttpWorld({
    LLM_KEY_ENCRYPTION_KEYS: `v1:${MASTER_KEY}`,
    OPENAI_BASE_URL: echo.url,
    ANTHROPIC_API_KEY: undefined,
    GEMINI_API_KEY: undefined,
  }, { db: database.db });
  try {
    const admin = await signToken({
      sub: "a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2",
      app_metadata: { account_id: ACCOUNT, role: "admin" },
    });
    const put = await callJson("PUT", `${world.url}/providers/openai/key`, admin, {
      apiKey: TENANT_KEY,
    });
    assert.equal(put.status, 200, put.text);
    const bodies: string[] = [];
    for (const form of FORMS) {
      echo.form = form;
      const response = await callJson("POST", world.url, admin, { prompt: `echo ${form}` });
      assert.equal(response.status, 502, response.text);
      bodies.push(response.text);
    }
    await world.settle();
    assert.ok(echo.keys.includes(TENANT_KEY), "the account's key was the one sent");
    assertNoLeak(bodies, TENANT_KEY, "a response");
    assertNoLeak(world.logs, TENANT_KEY, "a log line");
  } finally {
    await world.close();
    await echo.close();
    await database.close();
  }
});

Deno.test("secret echoes: the direct path's upstream errors hold no form of its key", async () => {
  const echo = startEchoUpstream();
  const world = await directWorld({
    env: { OPENAI_API_KEY: PLATFORM_KEY, OPENAI_BASE_URL: echo.url },
  });
  try {
    const bodies: string[] = [];
    for (const form of FORMS) {
      echo.form = form;
      const response = await world.post({ messages: [{ role: "user", content: form }] });
      const text = await response.text();
      assert.equal(response.status, 502, text);
      bodies.push(text);
    }
    await world.settle();
    assert.equal(echo.keys.length, FORMS.length);
    assert.ok(bodies.some((body) => body.includes("[redacted]")), bodies[0]);
    assertNoLeak(bodies, PLATFORM_KEY, "a response");
    assertNoLeak(world.logs, PLATFORM_KEY, "a log line");
  } finally {
    await world.close();
    await echo.close();
  }
});

Deno.test("secret echoes: llm-router's log lines hold no form of the env's own secrets", async () => {
  const serviceKey = "service-role-key-for-echo-tests-0123456789";
  const jobSecret = "job-secret-for-echo-tests-0123456789";
  const logs: string[] = [];
  const app = createRouterApp({
    env: mapEnv({
      OPENAI_API_KEY: "sk-test-echo-openai-0123456789",
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      SUPABASE_SERVICE_ROLE_KEY: serviceKey,
      LLM_JOB_SECRET: jobSecret,
      LLM_MAX_RETRIES: "0",
    }),
    log: testLogger("llm-router", logs),
    waitUntil: () => {},
    routerDeps: {
      // Something in front of the provider (a proxy, a fake) that repeats what it should not.
      createAdapter: (init) => ({
        name: init.spec.name,
        chat: () =>
          Promise.reject(
            new Error(`proxy: ${btoa(serviceKey)} ${encodeURIComponent(jobSecret)} ${serviceKey}`),
          ),
        stream: () => {
          throw new Error("not used");
        },
      }),
    },
  });
  try {
    const response = await app(
      new Request("http://127.0.0.1/functions/v1/llm-router", {
        method: "POST",
        headers: { authorization: `Bearer ${serviceKey}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "hi", accountId: ACCOUNT }),
      }),
    );
    await response.body?.cancel();
    assert.ok(logs.some((line) => line.includes("llm_request_failed")), logs.join("\n"));
    assertNoLeak(logs, serviceKey, "a log line");
    assertNoLeak(logs, jobSecret, "a log line");
  } finally {
    await app.close();
  }
});
