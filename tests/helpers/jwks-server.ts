/**
 * A loopback stand-in for Supabase Auth's key set endpoint
 * (`/auth/v1/.well-known/jwks.json`) and the matching token signers:
 * ES256, RS256 and EdDSA keys from `crypto.subtle.generateKey`, published
 * as JWKs with `kid`, `alg` and `use: "sig"`.
 */
import { base64UrlEncode } from "../../supabase/functions/_shared/security/base64url.ts";
import type { JwtClaims } from "../../supabase/functions/_shared/security/jwt-hs256.ts";

/** Asymmetric algorithms the helpers sign with. */
export type TestAlg = "ES256" | "RS256" | "EdDSA";

/** How to sign one token: `kid` overrides the key's id (null leaves it out); `header` adds fields. */
export interface SignOptions {
  kid?: string | null;
  header?: Record<string, unknown>;
}

/** One generated key pair and its public JWK as an issuer would publish it. */
export interface TestSigningKey {
  alg: TestAlg;
  kid: string;
  /** The public key as published: kty/crv/x/y or n/e, plus kid, alg and use. */
  publicJwk: JsonWebKey & { kid: string };
  /** The public key as PEM (SPKI), the usual material of algorithm-confusion attacks. */
  spkiPem: string;
  sign(claims: JwtClaims, options?: SignOptions): Promise<string>;
}

const SIGN_PARAMS: Record<TestAlg, AlgorithmIdentifier | EcdsaParams> = {
  ES256: { name: "ECDSA", hash: "SHA-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  EdDSA: { name: "Ed25519" },
};

const GENERATE_PARAMS: Record<TestAlg, RsaHashedKeyGenParams | EcKeyGenParams | Algorithm> = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  RS256: {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  EdDSA: { name: "Ed25519" },
};

/** Generates a key pair for `alg`; `kid` defaults to a fresh random id. */
export async function createSigningKey(alg: TestAlg, kid?: string): Promise<TestSigningKey> {
  const id = kid ?? `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`;
  const pair = await crypto.subtle.generateKey(GENERATE_PARAMS[alg], true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const exported = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const { key_ops: _ops, ext: _ext, ...publicFields } = exported;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const b64 = btoa(String.fromCharCode(...spki)).replace(/.{64}/g, "$&\n").trimEnd();
  return {
    alg,
    kid: id,
    publicJwk: { ...publicFields, kid: id, alg, use: "sig" },
    spkiPem: `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`,
    async sign(claims, options = {}) {
      const header: Record<string, unknown> = { alg, typ: "JWT", ...options.header };
      const headerKid = options.kid === undefined ? id : options.kid;
      if (headerKid !== null) header.kid = headerKid;
      const input = `${base64UrlEncode(JSON.stringify(header))}.${
        base64UrlEncode(JSON.stringify(claims))
      }`;
      const signature = await crypto.subtle.sign(
        SIGN_PARAMS[alg],
        pair.privateKey,
        new TextEncoder().encode(input),
      );
      return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
    },
  };
}

/** Signs `claims` as HS256 with any bytes as the secret, and any extra header fields. */
export async function signHs256(
  claims: JwtClaims,
  secret: string | Uint8Array<ArrayBuffer>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const raw = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const input = `${base64UrlEncode(JSON.stringify({ alg: "HS256", typ: "JWT", ...header }))}.${
    base64UrlEncode(JSON.stringify(claims))
  }`;
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
}

/** An `alg: "none"` token (empty signature), which every verifier must refuse. */
export function unsignedToken(claims: JwtClaims, header: Record<string, unknown> = {}): string {
  return `${base64UrlEncode(JSON.stringify({ alg: "none", typ: "JWT", ...header }))}.${
    base64UrlEncode(JSON.stringify(claims))
  }.`;
}

/** Claims of a signed-in Supabase user, valid for an hour from `nowSeconds`, with `overrides`. */
export function userClaims(
  overrides: JwtClaims = {},
  nowSeconds = Math.floor(Date.now() / 1000),
): JwtClaims {
  return {
    sub: "22222222-2222-4222-8222-222222222222",
    role: "authenticated",
    aud: "authenticated",
    iat: nowSeconds,
    exp: nowSeconds + 3600,
    ...overrides,
  };
}

/** How the endpoint misbehaves, for outage tests; undefined serves the key set. */
export type JwksFailure = "http_500" | "bad_json" | "not_a_key_set" | "hang";

/** A running loopback key set endpoint. */
export interface JwksServer {
  /** The key set URL: `<supabaseUrl>/auth/v1/.well-known/jwks.json`. */
  url: string;
  /** What `SUPABASE_URL` would be for this endpoint. */
  supabaseUrl: string;
  /** The issuer Supabase would put in `iss`: `<supabaseUrl>/auth/v1`. */
  issuer: string;
  /** Requests served on the key set URL so far (failed ones included). */
  fetchCount(): number;
  signEs256(claims: JwtClaims, kid?: string | null): Promise<string>;
  signRs256(claims: JwtClaims, kid?: string | null): Promise<string>;
  signEdDsa(claims: JwtClaims, kid?: string | null): Promise<string>;
  /** The current signing key for `alg`. */
  current(alg: TestAlg): TestSigningKey;
  /**
   * New keys with new kids for every algorithm. The previous keys stay
   * published (as Supabase keeps a rotated-out key) unless `retire` is true.
   */
  rotate(options?: { retire?: boolean }): Promise<void>;
  /** Publishes extra raw JWK entries (junk, encryption keys...) alongside the real ones. */
  publishExtra(entries: unknown[]): void;
  /** Makes the endpoint fail in the given way, or serve again with undefined. */
  setFailure(failure: JwksFailure | undefined): void;
  close(): Promise<void>;
}

/** Starts the endpoint on 127.0.0.1 with a fresh ES256, RS256 and EdDSA key. */
export async function startJwksServer(): Promise<JwksServer> {
  const generate = async () => {
    const [es, rs, ed] = await Promise.all([
      createSigningKey("ES256"),
      createSigningKey("RS256"),
      createSigningKey("EdDSA"),
    ]);
    return { ES256: es, RS256: rs, EdDSA: ed } as Record<TestAlg, TestSigningKey>;
  };
  let current = await generate();
  let previous: TestSigningKey[] = [];
  let extra: unknown[] = [];
  let failure: JwksFailure | undefined;
  let fetches = 0;
  let releaseHung!: () => void;
  const closed = new Promise<void>((resolve) => (releaseHung = resolve));
  const path = "/auth/v1/.well-known/jwks.json";

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      if (new URL(request.url).pathname !== path) return new Response("not found", { status: 404 });
      fetches++;
      switch (failure) {
        case "http_500":
          return new Response("upstream trouble", { status: 500 });
        case "bad_json":
          return new Response("{ this is not json", {
            headers: { "content-type": "application/json" },
          });
        case "not_a_key_set":
          return Response.json({ keys: "nope" });
        case "hang":
          // Answers only when the server closes; the client gives up long before.
          await closed;
          return new Response("too late", { status: 503 });
      }
      const keys = [
        ...Object.values(current).map((k) => k.publicJwk),
        ...previous.map((k) => k.publicJwk),
        ...extra,
      ];
      return Response.json({ keys }, { headers: { "cache-control": "public, max-age=600" } });
    },
  );
  const supabaseUrl = `http://127.0.0.1:${server.addr.port}`;
  return {
    url: `${supabaseUrl}${path}`,
    supabaseUrl,
    issuer: `${supabaseUrl}/auth/v1`,
    fetchCount: () => fetches,
    signEs256: (claims, kid) => current.ES256.sign(claims, { kid }),
    signRs256: (claims, kid) => current.RS256.sign(claims, { kid }),
    signEdDsa: (claims, kid) => current.EdDSA.sign(claims, { kid }),
    current: (alg) => current[alg],
    async rotate(options = {}) {
      const next = await generate();
      previous = options.retire ? [] : [...previous, ...Object.values(current)];
      current = next;
    },
    publishExtra(entries) {
      extra = [...extra, ...entries];
    },
    setFailure(mode) {
      failure = mode;
    },
    async close() {
      releaseHung();
      await server.shutdown();
    },
  };
}
