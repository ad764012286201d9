/**
 * Verification of Supabase user JWTs: the legacy HS256 shared secret and the
 * asymmetric signing keys Supabase publishes as a JWKS (ES256, RS256, and
 * Ed25519 as EdDSA), every signature checked through Web Crypto.
 *
 * The token header only picks the algorithm family; it never picks the key
 * material. HS256 uses only the configured secret, and ES256/RS256/EdDSA only
 * published keys whose type and curve fit, so a token cannot get itself
 * checked with a public key as an HMAC secret (algorithm confusion). Embedded
 * keys and key URLs in the header (`jwk`, `jku`, `x5u`, `x5c`) are ignored.
 */
import { base64UrlDecode } from "./base64url.ts";
import { type AsymmetricAlg, JwksCache, JwksUnavailableError, VERIFY_PARAMS } from "./jwks.ts";
import type { JwtClaims } from "./jwt-hs256.ts";

/** The claims a verified token carries (the type `Hs256Jwt` signs). */
export type { JwtClaims } from "./jwt-hs256.ts";

/**
 * Why a token was refused. See `jwtFailureStatus` for the HTTP status each
 * implies.
 */
export type JwtVerifyFailure =
  | "malformed"
  | "unsupported_alg"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "unknown_key"
  | "wrong_issuer"
  | "wrong_audience"
  | "jwks_unavailable"
  | "not_configured";

/**
 * A refused token, with the reason as `reason`. The message never contains
 * the token, a key or a secret, so it may be shown.
 */
export class JwtVerifyError extends Error {
  constructor(readonly reason: JwtVerifyFailure, message: string) {
    super(message);
    this.name = "JwtVerifyError";
  }
}

/**
 * The HTTP status a failure calls for: 503 when our side cannot verify
 * (key set unreachable, nothing configured), 401 when the token is at fault.
 */
export function jwtFailureStatus(reason: JwtVerifyFailure): 401 | 503 {
  return reason === "jwks_unavailable" || reason === "not_configured" ? 503 : 401;
}

/** Settings for a `JwtVerifier`; all optional, times in milliseconds. */
export interface JwtVerifierOptions {
  /** The legacy shared secret; without it HS256 tokens are refused. */
  hs256Secret?: string;
  /** Where the public keys are (`<SUPABASE_URL>/auth/v1/.well-known/jwks.json`); without it asymmetric tokens are refused. */
  jwksUrl?: string;
  /** Required `iss` when set (Supabase: `<SUPABASE_URL>/auth/v1`). */
  issuer?: string;
  /** Required `aud` when set: the token must name at least one of these. */
  audience?: string | string[];
  /** How the key set is fetched; defaults to the global `fetch`, looked up at call time. */
  fetch?: typeof fetch;
  /** Clock in milliseconds; defaults to `Date.now`. */
  now?: () => number;
  /** How long a fetched key set is trusted; default 10 minutes. */
  jwksCacheMs?: number;
  /** The least time between two key set fetches; default 30 seconds. */
  jwksMinRefreshMs?: number;
  /** Timeout for one key set fetch; default 5 seconds. */
  jwksTimeoutMs?: number;
}

/** Allowed clock skew between us and the token issuer. */
const LEEWAY_SECONDS = 30;
/** How many verified tokens to remember; a chat client sends the same token on every turn. */
const VERIFIED_MEMO_SIZE = 1_024;
/** Far above any real access token; bounds the work and the memo's memory per token. */
const MAX_TOKEN_CHARS = 16 * 1024;

const DEFAULT_JWKS_CACHE_MS = 10 * 60_000;
const DEFAULT_JWKS_MIN_REFRESH_MS = 30_000;
const DEFAULT_JWKS_TIMEOUT_MS = 5_000;

interface Remembered {
  claims: JwtClaims;
  verifiedAtMs: number;
  /** Asymmetric keys can be withdrawn, so such entries expire with the key set cache. */
  viaJwks: boolean;
}

/**
 * Verifies bearer tokens against the configured secret and/or key set. One
 * instance per isolate: it holds the imported HMAC key, the key set cache and
 * a bounded memo of verified tokens (time claims are re-checked every call).
 */
export class JwtVerifier {
  readonly #secret: string | undefined;
  readonly #issuer: string | undefined;
  readonly #audience: string[] | undefined;
  readonly #now: () => number;
  readonly #jwks: JwksCache | undefined;
  readonly #memoMs: number;
  #hmacKey: Promise<CryptoKey> | undefined;
  #verified = new Map<string, Remembered>();

  constructor(options: JwtVerifierOptions) {
    this.#secret = options.hs256Secret || undefined;
    this.#issuer = options.issuer || undefined;
    const audience = typeof options.audience === "string" ? [options.audience] : options.audience;
    this.#audience = audience && audience.length > 0 ? audience : undefined;
    this.#now = options.now ?? Date.now;
    const cacheMs = duration(options.jwksCacheMs, DEFAULT_JWKS_CACHE_MS, "jwksCacheMs");
    this.#memoMs = cacheMs;
    if (options.jwksUrl) {
      const url = new URL(options.jwksUrl);
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new TypeError("jwksUrl must be an http(s) URL");
      }
      const fetcher = options.fetch ?? ((input, init) => fetch(input, init));
      this.#jwks = new JwksCache({
        url: url.href,
        fetch: fetcher,
        now: this.#now,
        cacheMs,
        minRefreshMs: duration(
          options.jwksMinRefreshMs,
          DEFAULT_JWKS_MIN_REFRESH_MS,
          "jwksMinRefreshMs",
        ),
        timeoutMs: duration(options.jwksTimeoutMs, DEFAULT_JWKS_TIMEOUT_MS, "jwksTimeoutMs"),
      });
    }
  }

  /** Whether any token can verify: a secret or a key set URL is configured. */
  get configured(): boolean {
    return this.#secret !== undefined || this.#jwks !== undefined;
  }

  /** The claims of a valid token now, or throws `JwtVerifyError`. */
  async verify(token: string): Promise<JwtClaims> {
    if (!this.configured) {
      throw new JwtVerifyError("not_configured", "no JWT secret or signing key set is configured");
    }
    const nowMs = this.#now();
    const remembered = this.#verified.get(token);
    if (remembered) {
      if (!remembered.viaJwks || nowMs - remembered.verifiedAtMs < this.#memoMs) {
        return checkTimes(remembered.claims, nowMs);
      }
      this.#verified.delete(token);
    }
    const { claims, viaJwks } = await this.#verifySignature(token);
    checkTimes(claims, nowMs);
    this.#checkIssuerAndAudience(claims);
    if (this.#verified.size >= VERIFIED_MEMO_SIZE) {
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(token, { claims, verifiedAtMs: nowMs, viaJwks });
    return claims;
  }

  async #verifySignature(token: string): Promise<{ claims: JwtClaims; viaJwks: boolean }> {
    if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS) {
      throw new JwtVerifyError("malformed", "token is not a JWT");
    }
    const parts = token.split(".");
    if (parts.length !== 3) throw new JwtVerifyError("malformed", "token is not a JWT");
    const [headerPart, payloadPart, signaturePart] = parts;
    const header = decodeJson(headerPart, "header");
    // Any critical extension would change how the token must be verified; we implement none.
    if (header.crit !== undefined) {
      throw new JwtVerifyError("malformed", "token header has critical extensions");
    }
    const alg = header.alg;
    const signature = decodeSegment(signaturePart, "signature");
    const input = new TextEncoder().encode(`${headerPart}.${payloadPart}`);
    let viaJwks: boolean;
    if (alg === "HS256") {
      await this.#verifyHs256(signature, input);
      viaJwks = false;
    } else if (alg === "ES256" || alg === "RS256" || alg === "EdDSA" || alg === "Ed25519") {
      const kid = header.kid;
      if (kid !== undefined && typeof kid !== "string") {
        throw new JwtVerifyError("malformed", "token key id is not a string");
      }
      await this.#verifyAsymmetric(alg === "Ed25519" ? "EdDSA" : alg, kid, signature, input);
      viaJwks = true;
    } else {
      throw new JwtVerifyError("unsupported_alg", "token algorithm is not accepted");
    }
    // The payload is read only after its signature checked out.
    return { claims: decodeJson(payloadPart, "payload") as JwtClaims, viaJwks };
  }

  async #verifyHs256(
    signature: Uint8Array<ArrayBuffer>,
    input: Uint8Array<ArrayBuffer>,
  ): Promise<void> {
    if (this.#secret === undefined) {
      throw new JwtVerifyError(
        "unsupported_alg",
        "HS256 tokens are not accepted: no shared secret is configured",
      );
    }
    this.#hmacKey ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(this.#secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const valid = await crypto.subtle.verify("HMAC", await this.#hmacKey, signature, input);
    if (!valid) throw new JwtVerifyError("bad_signature", "token signature is invalid");
  }

  async #verifyAsymmetric(
    alg: AsymmetricAlg,
    kid: string | undefined,
    signature: Uint8Array<ArrayBuffer>,
    input: Uint8Array<ArrayBuffer>,
  ): Promise<void> {
    if (!this.#jwks) {
      throw new JwtVerifyError(
        "unsupported_alg",
        `${alg} tokens are not accepted: no signing key set is configured`,
      );
    }
    let key: CryptoKey | undefined;
    try {
      key = await this.#jwks.key(alg, kid);
    } catch (error) {
      if (error instanceof JwksUnavailableError) {
        throw new JwtVerifyError("jwks_unavailable", error.message);
      }
      throw error;
    }
    if (!key) {
      throw new JwtVerifyError("unknown_key", "token was signed by a key that is not published");
    }
    // JWS ECDSA signatures are raw r||s, which is also Web Crypto's format: P-256 is 64 bytes.
    if (alg === "ES256" && signature.length !== 64) {
      throw new JwtVerifyError("bad_signature", "token signature is invalid");
    }
    let valid = false;
    try {
      valid = await crypto.subtle.verify(VERIFY_PARAMS[alg], key, signature, input);
    } catch {
      // A signature of the wrong shape for the key: as good as a wrong one.
    }
    if (!valid) throw new JwtVerifyError("bad_signature", "token signature is invalid");
  }

  #checkIssuerAndAudience(claims: JwtClaims): void {
    if (this.#issuer !== undefined && claims.iss !== this.#issuer) {
      throw new JwtVerifyError("wrong_issuer", "token was not issued by this project's auth");
    }
    if (this.#audience !== undefined) {
      const aud = typeof claims.aud === "string"
        ? [claims.aud]
        : Array.isArray(claims.aud)
        ? claims.aud
        : [];
      if (!aud.some((a) => this.#audience!.includes(a))) {
        throw new JwtVerifyError("wrong_audience", "token is not meant for this service");
      }
    }
  }
}

/** Settings read from the Supabase env, plus whether they allow verifying anything. */
export interface SupabaseJwtSettings {
  options: JwtVerifierOptions;
  /** False with neither `SUPABASE_JWT_SECRET` nor a valid `SUPABASE_URL`: answer 503 CONFIG_MISSING. */
  configured: boolean;
}

/**
 * Verifier options from Supabase's env: `SUPABASE_JWT_SECRET` (HS256) and
 * `SUPABASE_URL` (JWKS at `/auth/v1/.well-known/jwks.json`, issuer
 * `/auth/v1`). `SUPABASE_JWT_ISSUER` overrides the issuer; set to `none` (or
 * to an empty string, if the env reader passes empty values through) it
 * disables the issuer check, e.g. for local tokens with `iss: "supabase-demo"`.
 * Problems are described in `warnings`, never with a secret's value.
 */
export function supabaseJwtVerifierOptions(
  env: (name: string) => string | undefined,
  warnings: string[] = [],
): SupabaseJwtSettings {
  const options: JwtVerifierOptions = {};
  const secret = env("SUPABASE_JWT_SECRET");
  if (secret) options.hs256Secret = secret;
  const rawUrl = env("SUPABASE_URL")?.trim();
  if (rawUrl) {
    const base = parseHttpUrl(rawUrl);
    if (base) {
      options.jwksUrl = `${base}/auth/v1/.well-known/jwks.json`;
      options.issuer = `${base}/auth/v1`;
    } else {
      warnings.push("SUPABASE_URL is not an http(s) URL; asymmetric JWTs will not be accepted");
    }
  }
  const issuer = env("SUPABASE_JWT_ISSUER");
  if (issuer !== undefined) {
    const trimmed = issuer.trim();
    if (trimmed === "" || trimmed.toLowerCase() === "none") delete options.issuer;
    else options.issuer = trimmed;
  }
  return {
    options,
    configured: options.hs256Secret !== undefined || options.jwksUrl !== undefined,
  };
}

/** The URL without a trailing slash, or undefined if it is not http(s). */
function parseHttpUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
    return raw.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}

function checkTimes(claims: JwtClaims, nowMs: number): JwtClaims {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) {
    throw new JwtVerifyError("malformed", "token has no expiry");
  }
  if (claims.exp + LEEWAY_SECONDS <= nowSeconds) {
    throw new JwtVerifyError("expired", "token has expired");
  }
  if (typeof claims.nbf === "number" && claims.nbf - LEEWAY_SECONDS > nowSeconds) {
    throw new JwtVerifyError("not_yet_valid", "token is not valid yet");
  }
  return claims;
}

function decodeSegment(part: string, what: string): Uint8Array<ArrayBuffer> {
  try {
    return base64UrlDecode(part);
  } catch {
    throw new JwtVerifyError("malformed", `token ${what} is not base64url`);
  }
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  const bytes = decodeSegment(part, what);
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes));
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw new JwtVerifyError("malformed", `token ${what} is not a JSON object`);
}

function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative number of milliseconds`);
  }
  return value;
}
