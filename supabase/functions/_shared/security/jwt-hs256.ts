/**
 * HS256 JSON Web Tokens through Web Crypto: verification for incoming user
 * tokens and signing for local dev tokens and tests. Asymmetric keys (JWKS)
 * come with the auth work; this is the Supabase CLI's legacy secret scheme.
 */
import { base64UrlDecode, base64UrlEncode } from "./base64url.ts";

/** Claims this project reads; others pass through untouched. */
export interface JwtClaims {
  sub?: string;
  role?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
  iss?: string;
  aud?: string | string[];
  email?: string;
  app_metadata?: Record<string, unknown>;
  [claim: string]: unknown;
}

/** Why a token was refused; callers map these to 401 codes. */
export type JwtFailure =
  | "malformed"
  | "unsupported_alg"
  | "bad_signature"
  | "expired"
  | "not_yet_valid";

/** A token that failed verification, with the reason as `reason`. */
export class JwtError extends Error {
  constructor(readonly reason: JwtFailure, message: string) {
    super(message);
    this.name = "JwtError";
  }
}

/** Allowed clock skew between us and the token issuer. */
const LEEWAY_SECONDS = 30;

/** How many verified tokens to remember; a chat client sends the same token on every turn. */
const VERIFIED_MEMO_SIZE = 1_024;

/**
 * Verifies and signs HS256 tokens with one secret. The HMAC key is imported
 * once, and tokens whose signature already checked out are remembered (by
 * their exact text), so a user's next request skips the HMAC; time claims
 * are still checked on every call.
 */
export class Hs256Jwt {
  #key: Promise<CryptoKey> | undefined;
  #verified = new Map<string, JwtClaims>();

  constructor(readonly secret: string) {}

  #cryptoKey(): Promise<CryptoKey> {
    this.#key ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(this.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return this.#key;
  }

  /** Signs `claims` as a compact HS256 JWT. */
  async sign(claims: JwtClaims): Promise<string> {
    const header = base64UrlEncode(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const payload = base64UrlEncode(JSON.stringify(claims));
    const input = `${header}.${payload}`;
    const signature = await crypto.subtle.sign(
      "HMAC",
      await this.#cryptoKey(),
      new TextEncoder().encode(input),
    );
    return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
  }

  /** Returns the claims of a valid token at `nowSeconds`, or throws `JwtError`. */
  async verify(token: string, nowSeconds: number): Promise<JwtClaims> {
    const remembered = this.#verified.get(token);
    if (remembered) return checkTimes(remembered, nowSeconds);
    const claims = checkTimes(await this.#verifySignature(token), nowSeconds);
    if (this.#verified.size >= VERIFIED_MEMO_SIZE) {
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(token, claims);
    return claims;
  }

  async #verifySignature(token: string): Promise<JwtClaims> {
    const parts = token.split(".");
    if (parts.length !== 3) throw new JwtError("malformed", "token is not a JWT");
    const [headerPart, payloadPart, signaturePart] = parts;
    const header = decodeJson(headerPart);
    if (header.alg !== "HS256") {
      throw new JwtError("unsupported_alg", "token algorithm is not accepted");
    }
    let signature: Uint8Array<ArrayBuffer>;
    try {
      signature = base64UrlDecode(signaturePart);
    } catch {
      throw new JwtError("malformed", "token signature is not base64url");
    }
    const valid = await crypto.subtle.verify(
      "HMAC",
      await this.#cryptoKey(),
      signature,
      new TextEncoder().encode(`${headerPart}.${payloadPart}`),
    );
    if (!valid) throw new JwtError("bad_signature", "token signature is invalid");
    return decodeJson(payloadPart) as JwtClaims;
  }
}

function checkTimes(claims: JwtClaims, nowSeconds: number): JwtClaims {
  if (typeof claims.exp !== "number") {
    throw new JwtError("malformed", "token has no expiry");
  }
  if (claims.exp + LEEWAY_SECONDS <= nowSeconds) {
    throw new JwtError("expired", "token has expired");
  }
  if (typeof claims.nbf === "number" && claims.nbf - LEEWAY_SECONDS > nowSeconds) {
    throw new JwtError("not_yet_valid", "token is not valid yet");
  }
  return claims;
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder().decode(base64UrlDecode(part)));
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw new JwtError("malformed", "token segment is not JSON");
}
