/**
 * JwtVerifier: HS256 with the legacy secret, ES256/RS256/EdDSA with the
 * published key set, claim checks, key set caching and rotation, outages,
 * algorithm confusion, and error messages that never carry a token.
 */
import assert from "node:assert/strict";
import {
  jwtFailureStatus,
  JwtVerifier,
  type JwtVerifierOptions,
  JwtVerifyError,
  type JwtVerifyFailure,
  supabaseJwtVerifierOptions,
} from "../supabase/functions/_shared/security/jwt-verifier.ts";
import { base64UrlEncode } from "../supabase/functions/_shared/security/base64url.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import {
  createSigningKey,
  type JwksServer,
  signHs256,
  startJwksServer,
  unsignedToken,
  userClaims,
} from "./helpers/jwks-server.ts";

const SECRET = "test-secret-for-the-verifier-at-least-32-characters";
const OTHER_SECRET = "another-secret-for-the-verifier-at-least-32-chars";

/** A settable clock in milliseconds, starting at the real time so real-time claims line up. */
function testClock() {
  let ms = Date.now();
  return {
    now: () => ms,
    seconds: () => Math.floor(ms / 1000),
    advance(deltaMs: number) {
      ms += deltaMs;
    },
  };
}

/** Asserts `secret`-free refusal with `reason`; `secrets` must not appear in the message. */
async function refused(
  promise: Promise<unknown>,
  reason: JwtVerifyFailure,
  ...secrets: string[]
): Promise<JwtVerifyError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof JwtVerifyError, `expected a JwtVerifyError, got ${caught}`);
  assert.equal(caught.reason, reason, caught.message);
  assertNoLeak(caught.message, secrets);
  return caught;
}

/** No token, no segment of one (8+ characters), no secret or key material in `message`. */
function assertNoLeak(message: string, secrets: string[]) {
  for (const secret of secrets) {
    const pieces = [secret, ...secret.split(".")].filter((piece) => piece.length >= 8);
    for (const piece of pieces) {
      assert.ok(!message.includes(piece), `message leaks token or secret text: ${message}`);
    }
  }
}

async function withJwks(
  fn: (server: JwksServer) => Promise<void>,
): Promise<void> {
  const server = await startJwksServer();
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

function verifier(options: JwtVerifierOptions): JwtVerifier {
  return new JwtVerifier(options);
}

// ---------------------------------------------------------------- HS256

Deno.test("HS256: a valid token returns its claims", async () => {
  const claims = userClaims({ email: "u@example.com" });
  const token = await signHs256(claims, SECRET);
  assert.deepEqual(await verifier({ hs256Secret: SECRET }).verify(token), claims);
});

Deno.test("HS256: expired beyond the 30 s leeway → expired; within it → accepted", async () => {
  const clock = testClock();
  const jwt = verifier({ hs256Secret: SECRET, now: clock.now });
  const stale = await signHs256(userClaims({ exp: clock.seconds() - 31 }), SECRET);
  await refused(jwt.verify(stale), "expired", stale, SECRET);
  const justExpired = await signHs256(userClaims({ exp: clock.seconds() - 10 }), SECRET);
  assert.equal((await jwt.verify(justExpired)).sub, userClaims().sub);
});

Deno.test("HS256: a remembered token is still refused once it expires", async () => {
  const clock = testClock();
  const jwt = verifier({ hs256Secret: SECRET, now: clock.now });
  const token = await signHs256(userClaims({ exp: clock.seconds() + 60 }), SECRET);
  await jwt.verify(token);
  clock.advance(91_000);
  await refused(jwt.verify(token), "expired", token);
});

Deno.test("HS256: a token signed with another secret → bad_signature", async () => {
  const token = await signHs256(userClaims(), OTHER_SECRET);
  await refused(verifier({ hs256Secret: SECRET }).verify(token), "bad_signature", token, SECRET);
});

Deno.test("HS256: nbf in the future beyond the leeway → not_yet_valid", async () => {
  const clock = testClock();
  const token = await signHs256(userClaims({ nbf: clock.seconds() + 120 }), SECRET);
  await refused(
    verifier({ hs256Secret: SECRET, now: clock.now }).verify(token),
    "not_yet_valid",
    token,
  );
});

Deno.test("HS256: a token without exp → malformed", async () => {
  const token = await signHs256(userClaims({ exp: undefined }), SECRET);
  await refused(verifier({ hs256Secret: SECRET }).verify(token), "malformed", token);
});

Deno.test("HS256: a tampered payload → bad_signature", async () => {
  const [header, , signature] = (await signHs256(userClaims(), SECRET)).split(".");
  const forged = base64UrlEncode(JSON.stringify(userClaims({ sub: "someone-else" })));
  const token = `${header}.${forged}.${signature}`;
  await refused(verifier({ hs256Secret: SECRET }).verify(token), "bad_signature", token);
});

Deno.test("malformed tokens → malformed", async () => {
  const jwt = verifier({ hs256Secret: SECRET });
  const good = await signHs256(userClaims(), SECRET);
  const [h, p, s] = good.split(".");
  for (
    const token of [
      "",
      "not-a-jwt",
      `${h}.${p}`,
      `${good}.extra`,
      `${h}.${p}.!!!`,
      `${base64UrlEncode("not json")}.${p}.${s}`,
      `${base64UrlEncode("[1,2]")}.${p}.${s}`,
      `${h}.${p}.${s}${"A".repeat(20_000)}`,
    ]
  ) {
    await refused(jwt.verify(token), "malformed", token);
  }
});

Deno.test("a header with critical extensions → malformed", async () => {
  const token = await signHs256(userClaims(), SECRET, { crit: ["b64"], b64: false });
  await refused(verifier({ hs256Secret: SECRET }).verify(token), "malformed", token);
});

Deno.test("nothing configured → not_configured (503), and the helper says so", async () => {
  const jwt = verifier({});
  assert.equal(jwt.configured, false);
  const token = await signHs256(userClaims(), SECRET);
  await refused(jwt.verify(token), "not_configured", token);
  assert.equal(jwtFailureStatus("not_configured"), 503);
});

// ---------------------------------------------------------------- asymmetric

Deno.test("ES256: a token signed by a published key verifies", async () => {
  await withJwks(async (server) => {
    const claims = userClaims();
    const token = await server.signEs256(claims);
    assert.deepEqual(await verifier({ jwksUrl: server.url }).verify(token), claims);
    assert.equal(server.fetchCount(), 1);
  });
});

Deno.test("RS256: a token signed by a published key verifies", async () => {
  await withJwks(async (server) => {
    const claims = userClaims();
    const token = await server.signRs256(claims);
    assert.deepEqual(await verifier({ jwksUrl: server.url }).verify(token), claims);
  });
});

Deno.test("EdDSA (Ed25519): a token signed by a published key verifies", async () => {
  await withJwks(async (server) => {
    const claims = userClaims();
    const token = await server.signEdDsa(claims);
    assert.deepEqual(await verifier({ jwksUrl: server.url }).verify(token), claims);
  });
});

Deno.test("ES256 without kid: the only P-256 key is used; with two, the token is refused", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({ jwksUrl: server.url, now: clock.now });
    const token = await server.signEs256(userClaims(), null);
    assert.equal((await jwt.verify(token)).role, "authenticated");

    await server.rotate(); // the old key stays published: now two P-256 keys
    clock.advance(11 * 60_000);
    const ambiguous = await server.signEs256(userClaims(), null);
    await refused(jwt.verify(ambiguous), "unknown_key", ambiguous);
  });
});

Deno.test("a token signed by a key that is not published → unknown_key; under a published kid → bad_signature", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ jwksUrl: server.url });
    const stranger = await createSigningKey("ES256");
    const own = await stranger.sign(userClaims());
    await refused(jwt.verify(own), "unknown_key", own);
    const borrowed = await stranger.sign(userClaims(), { kid: server.current("ES256").kid });
    await refused(jwt.verify(borrowed), "bad_signature", borrowed);
  });
});

Deno.test("keys embedded in the header (jwk, jku, x5u) are never trusted", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ jwksUrl: server.url });
    const attacker = await createSigningKey("ES256");
    const token = await attacker.sign(userClaims(), {
      header: { jwk: attacker.publicJwk, jku: "http://127.0.0.1:9/evil.json", x5u: "x" },
    });
    await refused(jwt.verify(token), "unknown_key", token);
  });
});

Deno.test("asymmetric: a tampered payload → bad_signature (ES256, RS256, EdDSA)", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ jwksUrl: server.url });
    const forged = base64UrlEncode(JSON.stringify(userClaims({ role: "service_role" })));
    for (const sign of [server.signEs256, server.signRs256, server.signEdDsa]) {
      const [header, , signature] = (await sign(userClaims())).split(".");
      const token = `${header}.${forged}.${signature}`;
      await refused(jwt.verify(token), "bad_signature", token);
    }
  });
});

Deno.test("ES256: a signature of the wrong length (e.g. DER) → bad_signature", async () => {
  await withJwks(async (server) => {
    const [header, payload] = (await server.signEs256(userClaims())).split(".");
    const token = `${header}.${payload}.${base64UrlEncode(new Uint8Array(72))}`;
    await refused(verifier({ jwksUrl: server.url }).verify(token), "bad_signature", token);
  });
});

Deno.test("a key whose type does not fit the header's alg is not used (RS256 header, EC kid)", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ jwksUrl: server.url });
    const es = server.current("ES256");
    const rsa = await createSigningKey("RS256");
    const token = await rsa.sign(userClaims(), { kid: es.kid });
    await refused(jwt.verify(token), "unknown_key", token);
  });
});

Deno.test("alg none and other algorithms → unsupported_alg", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ hs256Secret: SECRET, jwksUrl: server.url });
    const none = unsignedToken(userClaims());
    await refused(jwt.verify(none), "unsupported_alg", none);
    const noneWithKid = unsignedToken(userClaims(), { kid: server.current("ES256").kid });
    await refused(jwt.verify(noneWithKid), "unsupported_alg", noneWithKid);
    const [, payload, signature] = (await server.signRs256(userClaims())).split(".");
    for (const alg of ["HS512", "RS512", "PS256", "ES384", "NONE", "", null, 1]) {
      const header = base64UrlEncode(JSON.stringify({ alg, kid: server.current("RS256").kid }));
      const token = `${header}.${payload}.${signature}`;
      await refused(jwt.verify(token), "unsupported_alg", token);
    }
    assert.equal(server.fetchCount(), 0, "refused algorithms never reach the key set");
  });
});

Deno.test("algorithm confusion: HS256 signed with the public key, no secret configured → unsupported_alg", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ jwksUrl: server.url });
    for (const alg of ["RS256", "ES256"] as const) {
      const key = server.current(alg);
      for (const material of [key.spkiPem, JSON.stringify(key.publicJwk), key.publicJwk.n ?? ""]) {
        if (!material) continue;
        const token = await signHs256(userClaims(), material, { kid: key.kid });
        await refused(jwt.verify(token), "unsupported_alg", token);
      }
    }
  });
});

Deno.test("algorithm confusion: HS256 signed with the public key, another secret configured → bad_signature", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ hs256Secret: SECRET, jwksUrl: server.url });
    const key = server.current("RS256");
    for (const material of [key.spkiPem, JSON.stringify(key.publicJwk)]) {
      const token = await signHs256(userClaims(), material, { kid: key.kid });
      await refused(jwt.verify(token), "bad_signature", token, SECRET);
    }
  });
});

Deno.test("asymmetric tokens without a key set URL → unsupported_alg, no fetch", async () => {
  await withJwks(async (server) => {
    const token = await server.signEs256(userClaims());
    await refused(verifier({ hs256Secret: SECRET }).verify(token), "unsupported_alg", token);
    assert.equal(server.fetchCount(), 0);
  });
});

// ---------------------------------------------------------------- iss / aud

Deno.test("issuer: checked when configured; a mismatch or a missing iss → wrong_issuer", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ hs256Secret: SECRET, jwksUrl: server.url, issuer: server.issuer });
    const good = await server.signEs256(userClaims({ iss: server.issuer }));
    assert.equal((await jwt.verify(good)).iss, server.issuer);
    const goodHs = await signHs256(userClaims({ iss: server.issuer }), SECRET);
    assert.equal((await jwt.verify(goodHs)).iss, server.issuer);
    for (const iss of ["https://evil.example/auth/v1", "supabase-demo", undefined]) {
      const token = await server.signEs256(userClaims({ iss }));
      await refused(jwt.verify(token), "wrong_issuer", token);
      const hs = await signHs256(userClaims({ iss }), SECRET);
      await refused(jwt.verify(hs), "wrong_issuer", hs, SECRET);
    }
    const unchecked = verifier({ hs256Secret: SECRET });
    const demo = await signHs256(userClaims({ iss: "supabase-demo" }), SECRET);
    assert.equal((await unchecked.verify(demo)).iss, "supabase-demo");
  });
});

Deno.test("audience: string or array, in the token or the setting; a mismatch → wrong_audience", async () => {
  const sign = (aud: unknown) => signHs256(userClaims({ aud: aud as string }), SECRET);
  const single = verifier({ hs256Secret: SECRET, audience: "authenticated" });
  const several = verifier({ hs256Secret: SECRET, audience: ["other", "authenticated"] });
  for (const jwt of [single, several]) {
    assert.ok(await jwt.verify(await sign("authenticated")));
    assert.ok(await jwt.verify(await sign(["x", "authenticated"])));
    for (const aud of ["anon", ["x", "y"], [], undefined, 42]) {
      const token = await sign(aud);
      await refused(jwt.verify(token), "wrong_audience", token);
    }
  }
  const unchecked = verifier({ hs256Secret: SECRET });
  assert.ok(await unchecked.verify(await sign("anything")));
});

// ---------------------------------------------------------------- key set cache

Deno.test("key set cache: many verifications → one fetch; refetched once after jwksCacheMs", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({ jwksUrl: server.url, now: clock.now });
    for (let i = 0; i < 20; i++) {
      const sign = [server.signEs256, server.signRs256, server.signEdDsa][i % 3];
      await jwt.verify(await sign(userClaims({ sub: `user-${i}` }, clock.seconds())));
    }
    assert.equal(server.fetchCount(), 1);
    clock.advance(10 * 60_000 + 1);
    for (let i = 0; i < 5; i++) {
      await jwt.verify(await server.signEs256(userClaims({ sub: `late-${i}` }, clock.seconds())));
    }
    assert.equal(server.fetchCount(), 2);
  });
});

Deno.test("concurrent first verifications share a single fetch", async () => {
  await withJwks(async (server) => {
    const jwt = verifier({ jwksUrl: server.url });
    const tokens = await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) => (i % 2 ? server.signEs256 : server.signRs256)(userClaims({ sub: `c-${i}` })),
      ),
    );
    const results = await Promise.all(tokens.map((token) => jwt.verify(token)));
    assert.equal(results.length, 30);
    assert.equal(server.fetchCount(), 1);
  });
});

Deno.test("key rotation: a token with the new kid verifies after exactly one refetch", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({ jwksUrl: server.url, now: clock.now });
    const before = await server.signEs256(userClaims({}, clock.seconds()));
    await jwt.verify(before);
    assert.equal(server.fetchCount(), 1);

    await server.rotate();
    clock.advance(31_000); // past jwksMinRefreshMs, well within jwksCacheMs
    const after = await server.signEs256(userClaims({}, clock.seconds()));
    assert.equal((await jwt.verify(after)).role, "authenticated");
    assert.equal(server.fetchCount(), 2);
    // The rotated-out key is still published: its tokens keep working, no further fetch.
    assert.ok(await jwt.verify(before));
    assert.equal(server.fetchCount(), 2);
  });
});

Deno.test("key rotation right after a fetch: the new kid waits for jwksMinRefreshMs", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({ jwksUrl: server.url, now: clock.now });
    await jwt.verify(await server.signRs256(userClaims({}, clock.seconds())));
    await server.rotate();
    const fresh = await server.signRs256(userClaims({}, clock.seconds()));
    await refused(jwt.verify(fresh), "unknown_key", fresh);
    assert.equal(server.fetchCount(), 1);
    clock.advance(30_000);
    assert.ok(await jwt.verify(fresh));
    assert.equal(server.fetchCount(), 2);
  });
});

Deno.test("a retired key's tokens stop verifying once the cached set expires (memo included)", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({ jwksUrl: server.url, now: clock.now });
    const token = await server.signEs256(userClaims({ exp: clock.seconds() + 7200 }));
    await jwt.verify(token);
    await server.rotate({ retire: true });
    assert.ok(await jwt.verify(token), "still cached");
    clock.advance(10 * 60_000 + 1);
    await refused(jwt.verify(token), "unknown_key", token);
  });
});

Deno.test("random unknown kids cause at most one fetch per jwksMinRefreshMs", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({ jwksUrl: server.url, now: clock.now });
    await jwt.verify(await server.signEs256(userClaims({}, clock.seconds())));
    assert.equal(server.fetchCount(), 1);

    const flood = async (n: number) => {
      const tokens = await Promise.all(
        Array.from({ length: n }, () => server.signEs256(userClaims(), crypto.randomUUID())),
      );
      // Half at once, half one after another.
      await Promise.all(
        tokens.slice(0, n / 2).map((token) => refused(jwt.verify(token), "unknown_key", token)),
      );
      for (const token of tokens.slice(n / 2)) {
        await refused(jwt.verify(token), "unknown_key", token);
      }
    };

    await flood(40); // within the window of the first fetch: no fetch at all
    assert.equal(server.fetchCount(), 1);
    clock.advance(30_000);
    await flood(40);
    assert.equal(server.fetchCount(), 2);
    clock.advance(20_000);
    await flood(40);
    assert.equal(server.fetchCount(), 2);
    clock.advance(10_000);
    await flood(40);
    assert.equal(server.fetchCount(), 3);
  });
});

Deno.test("unusable published entries are ignored, not fatal", async () => {
  await withJwks(async (server) => {
    const weak = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    ) as CryptoKeyPair;
    const weakJwk = await crypto.subtle.exportKey("jwk", weak.publicKey);
    const es = server.current("ES256").publicJwk;
    server.publishExtra([
      { kty: "oct", kid: "sym", k: base64UrlEncode(SECRET), alg: "HS256" },
      { ...es, kid: "enc-key", use: "enc" },
      { ...es, kid: "ops-key", key_ops: ["encrypt"] },
      { ...es, kid: "wrong-alg", alg: "ES384" },
      { kty: "EC", crv: "P-256", kid: "broken", x: "AAAA", y: "BBBB" },
      { ...weakJwk, kid: "weak-rsa", alg: "RS256", use: "sig" },
      { kty: "RSA", kid: "no-modulus", e: "AQAB" },
      "not an object",
      null,
      { kty: "EC", crv: "P-256", kid: 7, x: es.x, y: es.y },
    ]);
    const jwt = verifier({ jwksUrl: server.url });
    assert.ok(await jwt.verify(await server.signEs256(userClaims())));
    assert.ok(await jwt.verify(await server.signRs256(userClaims())));
    const es256 = server.current("ES256");
    for (const kid of ["enc-key", "ops-key", "wrong-alg", "broken"]) {
      const token = await es256.sign(userClaims(), { kid });
      await refused(jwt.verify(token), "unknown_key", token);
    }
    const weakToken = await server.current("RS256").sign(userClaims(), { kid: "weak-rsa" });
    await refused(jwt.verify(weakToken), "unknown_key", weakToken);
    // The symmetric JWK is never an HMAC key for an HS256 token.
    const hs = await signHs256(userClaims(), SECRET, { kid: "sym" });
    await refused(jwt.verify(hs), "unsupported_alg", hs);
    assert.equal(server.fetchCount(), 1);
  });
});

// ---------------------------------------------------------------- outages

Deno.test("key set unreachable (closed port) → jwks_unavailable (503)", async () => {
  const server = await startJwksServer();
  const token = await server.signEs256(userClaims());
  const url = server.url;
  await server.close();
  const error = await refused(verifier({ jwksUrl: url }).verify(token), "jwks_unavailable", token);
  assert.equal(jwtFailureStatus(error.reason), 503);
});

Deno.test("key set HTTP 500, bad JSON, not a key set → jwks_unavailable; retried after jwksMinRefreshMs", async () => {
  for (const failure of ["http_500", "bad_json", "not_a_key_set"] as const) {
    await withJwks(async (server) => {
      const clock = testClock();
      const jwt = verifier({ jwksUrl: server.url, now: clock.now });
      const token = await server.signEs256(userClaims());
      server.setFailure(failure);
      await refused(jwt.verify(token), "jwks_unavailable", token);
      assert.equal(server.fetchCount(), 1);
      // Within the window: no retry, however many tokens arrive.
      server.setFailure(undefined);
      for (let i = 0; i < 10; i++) await refused(jwt.verify(token), "jwks_unavailable", token);
      assert.equal(server.fetchCount(), 1);
      clock.advance(30_000);
      assert.ok(await jwt.verify(token));
      assert.equal(server.fetchCount(), 2);
    });
  }
});

Deno.test("a hanging key set endpoint → jwks_unavailable after jwksTimeoutMs", async () => {
  await withJwks(async (server) => {
    server.setFailure("hang");
    const jwt = verifier({ jwksUrl: server.url, jwksTimeoutMs: 100 });
    const token = await server.signEs256(userClaims());
    const started = performance.now();
    const error = await refused(jwt.verify(token), "jwks_unavailable", token);
    assert.match(error.message, /timed out/);
    assert.ok(performance.now() - started < 5_000);
  });
});

Deno.test("an outage after a successful fetch: known keys keep working for a grace period", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({ jwksUrl: server.url, now: clock.now });
    await jwt.verify(await server.signEs256(userClaims({}, clock.seconds())));
    server.setFailure("http_500");
    clock.advance(10 * 60_000 + 1); // the set is due for a refresh, which fails
    const token = await server.signRs256(userClaims({ exp: clock.seconds() + 3600 }));
    assert.ok(await jwt.verify(token));
    assert.equal(server.fetchCount(), 2);
    // A kid we do not know while the endpoint fails: our problem, not the token's.
    const rotated = await server.signEs256(userClaims({ exp: clock.seconds() + 3600 }), "new-kid");
    await refused(jwt.verify(rotated), "jwks_unavailable", rotated);
    clock.advance(10 * 60_000); // beyond the grace period: the old set is dropped
    const later = await server.signRs256(userClaims({ exp: clock.seconds() + 3600, sub: "x" }));
    await refused(jwt.verify(later), "jwks_unavailable", later);
  });
});

// ---------------------------------------------------------------- env helper

Deno.test("supabaseJwtVerifierOptions: secret and URL, trailing slash, issuer override and opt-out", () => {
  const url = "https://abc.supabase.co";
  const both = supabaseJwtVerifierOptions(
    mapEnv({ SUPABASE_JWT_SECRET: SECRET, SUPABASE_URL: `${url}/` }),
  );
  assert.deepEqual(both, {
    configured: true,
    options: {
      hs256Secret: SECRET,
      jwksUrl: `${url}/auth/v1/.well-known/jwks.json`,
      issuer: `${url}/auth/v1`,
    },
  });
  const custom = supabaseJwtVerifierOptions(
    mapEnv({ SUPABASE_URL: url, SUPABASE_JWT_ISSUER: "supabase-demo" }),
  );
  assert.equal(custom.options.issuer, "supabase-demo");
  for (const optOut of ["", "none", "NONE"]) {
    // A raw reader, since mapEnv and processEnv turn "" into undefined.
    const env = (name: string) =>
      ({ SUPABASE_URL: url, SUPABASE_JWT_ISSUER: optOut } as Record<string, string>)[name];
    assert.equal(supabaseJwtVerifierOptions(env).options.issuer, undefined, optOut);
  }
  assert.deepEqual(supabaseJwtVerifierOptions(mapEnv({ SUPABASE_JWT_SECRET: SECRET })), {
    configured: true,
    options: { hs256Secret: SECRET },
  });
  assert.deepEqual(supabaseJwtVerifierOptions(mapEnv({})), { configured: false, options: {} });
  const warnings: string[] = [];
  const bad = supabaseJwtVerifierOptions(mapEnv({ SUPABASE_URL: "ftp://x" }), warnings);
  assert.equal(bad.configured, false);
  assert.equal(warnings.length, 1);
});

Deno.test("supabaseJwtVerifierOptions: a verifier built from it accepts the project's tokens", async () => {
  await withJwks(async (server) => {
    const { options } = supabaseJwtVerifierOptions(
      mapEnv({ SUPABASE_URL: server.supabaseUrl, SUPABASE_JWT_SECRET: SECRET }),
    );
    const jwt = new JwtVerifier(options);
    assert.ok(await jwt.verify(await server.signEs256(userClaims({ iss: server.issuer }))));
    assert.ok(await jwt.verify(await signHs256(userClaims({ iss: server.issuer }), SECRET)));
    const demo = await signHs256(userClaims({ iss: "supabase-demo" }), SECRET);
    await refused(jwt.verify(demo), "wrong_issuer", demo);
  });
});

Deno.test("jwtFailureStatus: 401 for the token's faults, 503 for ours", () => {
  const status: Record<JwtVerifyFailure, 401 | 503> = {
    malformed: 401,
    unsupported_alg: 401,
    bad_signature: 401,
    expired: 401,
    not_yet_valid: 401,
    unknown_key: 401,
    wrong_issuer: 401,
    wrong_audience: 401,
    jwks_unavailable: 503,
    not_configured: 503,
  };
  for (const [reason, expected] of Object.entries(status)) {
    assert.equal(jwtFailureStatus(reason as JwtVerifyFailure), expected, reason);
  }
});

// ---------------------------------------------------------------- leaks

Deno.test("no error message contains token text, a secret or key material", async () => {
  await withJwks(async (server) => {
    const clock = testClock();
    const jwt = verifier({
      hs256Secret: SECRET,
      jwksUrl: server.url,
      issuer: server.issuer,
      audience: "authenticated",
      now: clock.now,
    });
    const iss = server.issuer;
    const es = server.current("ES256");
    const stranger = await createSigningKey("RS256");
    const [h, p, s] = (await server.signEs256(userClaims({ iss }))).split(".");
    const cases: [string, JwtVerifyFailure][] = [
      [`${h}.${p}`, "malformed"],
      [`${h}.${p}.${s}!`, "malformed"],
      [unsignedToken(userClaims({ iss })), "unsupported_alg"],
      [await signHs256(userClaims({ iss }), OTHER_SECRET), "bad_signature"],
      [await signHs256(userClaims({ iss }), es.spkiPem, { kid: es.kid }), "bad_signature"],
      [await signHs256(userClaims({ iss, exp: clock.seconds() - 600 }), SECRET), "expired"],
      [await signHs256(userClaims({ iss, nbf: clock.seconds() + 600 }), SECRET), "not_yet_valid"],
      [await stranger.sign(userClaims({ iss })), "unknown_key"],
      [await stranger.sign(userClaims({ iss }), { kid: `${SECRET}-as-kid` }), "unknown_key"],
      [await server.signEs256(userClaims({ iss: "x" })), "wrong_issuer"],
      [await server.signRs256(userClaims({ iss, aud: "anon" })), "wrong_audience"],
    ];
    for (const [token, reason] of cases) {
      await refused(jwt.verify(token), reason, token, SECRET, es.spkiPem, es.publicJwk.x!);
    }
    server.setFailure("http_500");
    clock.advance(60 * 60_000);
    const late = await server.signEs256(userClaims({ iss }, clock.seconds()));
    await refused(jwt.verify(late), "jwks_unavailable", late, SECRET);
  });
});
