/** Direct functions require a signed-in user's JWT; every other caller gets a precise 401. */
import assert from "node:assert/strict";
import { base64UrlEncode } from "../supabase/functions/_shared/security/base64url.ts";
import { directWorld } from "./helpers/direct-world.ts";
import { signToken } from "./helpers/tokens.ts";
import { createSigningKey, startJwksServer, userClaims } from "./helpers/jwks-server.ts";

const hello = JSON.stringify({ messages: [{ role: "user", content: "Hello" }] });

const cases: [string, () => Promise<string | undefined>, string][] = [
  ["no Authorization header", () => Promise.resolve(undefined), "AUTH_MISSING"],
  ["a non-Bearer scheme", () => Promise.resolve("Basic dXNlcjpwYXNz"), "AUTH_MISSING"],
  [
    "an expired token",
    async () => `Bearer ${await signToken({ exp: Math.floor(Date.now() / 1000) - 120 })}`,
    "AUTH_EXPIRED",
  ],
  [
    "a token signed with another secret",
    async () => `Bearer ${await signToken({}, "another-secret-that-is-at-least-32-characters")}`,
    "AUTH_INVALID",
  ],
  ["a token that is not a JWT", () => Promise.resolve("Bearer not-a-jwt"), "AUTH_INVALID"],
  ["an alg=none token", () => {
    const header = base64UrlEncode(JSON.stringify({ alg: "none", typ: "JWT" }));
    const payload = base64UrlEncode(
      JSON.stringify({ sub: "u", role: "authenticated", exp: 9999999999 }),
    );
    return Promise.resolve(`Bearer ${header}.${payload}.`);
  }, "AUTH_INVALID"],
  ["a tampered payload", async () => {
    const [header, , signature] = (await signToken()).split(".");
    const forged = base64UrlEncode(
      JSON.stringify({ sub: "someone-else", role: "authenticated", exp: 9999999999 }),
    );
    return `Bearer ${header}.${forged}.${signature}`;
  }, "AUTH_INVALID"],
  [
    "a token without expiry",
    async () => `Bearer ${await signToken({ exp: undefined })}`,
    "AUTH_INVALID",
  ],
  [
    "the anon key",
    async () => `Bearer ${await signToken({ role: "anon", sub: undefined })}`,
    "AUTH_USER_REQUIRED",
  ],
  [
    "the service role key",
    async () => `Bearer ${await signToken({ role: "service_role", sub: undefined })}`,
    "AUTH_USER_REQUIRED",
  ],
];

for (const [name, authorization, code] of cases) {
  Deno.test(`auth: ${name} → 401 ${code}, CORS headers, no upstream call`, async () => {
    const world = await directWorld();
    try {
      const value = await authorization();
      const response = await world.handler(
        new Request("http://localhost/functions/v1/ai-chat-direct", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(value ? { authorization: value } : {}),
          },
          body: hello,
        }),
      );
      assert.equal(response.status, 401);
      assert.equal(response.headers.get("access-control-allow-origin"), "*");
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
      const body = await response.json();
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, "string");
      assert.equal(world.mock.requests.length, 0);
    } finally {
      await world.close();
    }
  });
}

Deno.test("auth: a token within the 30 s clock-skew leeway is still accepted", async () => {
  const world = await directWorld();
  try {
    const token = await signToken({ exp: Math.floor(Date.now() / 1000) - 5 });
    const response = await world.handler(
      new Request("http://localhost/functions/v1/ai-chat-direct", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: hello,
      }),
    );
    assert.equal(response.status, 200);
    await response.body?.cancel();
  } finally {
    await world.close();
  }
});

Deno.test("auth: Supabase's asymmetric keys: an ES256 token from the project's JWKS is accepted; a stranger's key is not", async () => {
  const jwks = await startJwksServer();
  const world = await directWorld({
    env: { SUPABASE_JWT_SECRET: undefined, SUPABASE_URL: jwks.supabaseUrl },
  });
  try {
    const post = async (token: string) => {
      const response = await world.post({ messages: [{ role: "user", content: "hi" }] }, {
        headers: { authorization: `Bearer ${token}` },
      });
      const status = response.status;
      const code = status === 200 ? undefined : (await response.json()).error.code;
      if (status === 200) await response.body?.cancel();
      return { status, code };
    };
    const valid = await jwks.signEs256(userClaims({ iss: jwks.issuer }));
    assert.deepEqual(await post(valid), { status: 200, code: undefined });
    const wrongIssuer = await jwks.signEs256(
      userClaims({ iss: "https://elsewhere.example/auth/v1" }),
    );
    assert.deepEqual(await post(wrongIssuer), { status: 401, code: "AUTH_INVALID" });
    const stranger = await createSigningKey("ES256", jwks.current("ES256").kid);
    const forged = await stranger.sign(userClaims({ iss: jwks.issuer }));
    assert.deepEqual(await post(forged), { status: 401, code: "AUTH_INVALID" });
    const expired = await jwks.signEs256(
      userClaims({ iss: jwks.issuer, exp: Math.floor(Date.now() / 1000) - 300 }),
    );
    assert.deepEqual(await post(expired), { status: 401, code: "AUTH_EXPIRED" });
    assert.equal(world.mock.requests.length, 1);
  } finally {
    await world.close();
    await jwks.close();
  }
});

Deno.test("auth: when the signing keys cannot be fetched the answer is 503 AUTH_UNAVAILABLE, not a 401", async () => {
  const jwks = await startJwksServer();
  const world = await directWorld({
    env: { SUPABASE_JWT_SECRET: undefined, SUPABASE_URL: jwks.supabaseUrl },
  });
  try {
    jwks.setFailure("http_500");
    const token = await jwks.signEs256(userClaims({ iss: jwks.issuer }));
    const response = await world.post({ messages: [{ role: "user", content: "hi" }] }, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), "30");
    assert.equal((await response.json()).error.code, "AUTH_UNAVAILABLE");
    assert.equal(world.mock.requests.length, 0);
  } finally {
    await world.close();
    await jwks.close();
  }
});
