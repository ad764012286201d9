/**
 * HS256 JSON Web Tokens signed through Web Crypto, for local dev tokens and
 * tests (the Supabase CLI's legacy secret scheme). Verifying any token,
 * HS256 included, is `JwtVerifier`'s job (jwt-verifier.ts).
 */
import { base64UrlEncode } from "./base64url.ts";

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

/** Signs tokens with one secret; the HMAC key is imported once. */
export class Hs256Jwt {
  #key: Promise<CryptoKey> | undefined;

  constructor(readonly secret: string) {}

  /** Signs `claims` as a compact HS256 JWT. */
  async sign(claims: JwtClaims): Promise<string> {
    this.#key ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(this.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const header = base64UrlEncode(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const payload = base64UrlEncode(JSON.stringify(claims));
    const input = `${header}.${payload}`;
    const signature = await crypto.subtle.sign(
      "HMAC",
      await this.#key,
      new TextEncoder().encode(input),
    );
    return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
  }
}
