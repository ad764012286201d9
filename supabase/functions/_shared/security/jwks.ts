/**
 * The issuer's public signing keys (a JWKS, RFC 7517), fetched lazily and
 * cached on the instance. Keys are imported into Web Crypto once per fetch,
 * unknown key ids trigger at most one refetch per `minRefreshMs` (so a flood
 * of made-up kids cannot become a flood of fetches), and concurrent callers
 * share one in-flight fetch.
 */
import { base64UrlDecode } from "./base64url.ts";

/** The asymmetric JWS algorithms a published key can serve. */
export type AsymmetricAlg = "ES256" | "RS256" | "EdDSA";

/** Web Crypto `verify` parameters per algorithm (the hash of RSA is fixed at import). */
export const VERIFY_PARAMS: Readonly<Record<AsymmetricAlg, Readonly<EcdsaParams | Algorithm>>> =
  Object.freeze({
    ES256: Object.freeze({ name: "ECDSA", hash: "SHA-256" }),
    RS256: Object.freeze({ name: "RSASSA-PKCS1-v1_5" }),
    EdDSA: Object.freeze({ name: "Ed25519" }),
  });

/** Settings for a `JwksCache`; times are milliseconds. */
export interface JwksCacheOptions {
  url: string;
  fetch: typeof fetch;
  now: () => number;
  /** How long a fetched key set is trusted before it is fetched again. */
  cacheMs: number;
  /** The least time between two fetches (rotation refetches, retries after a failure). */
  minRefreshMs: number;
  /** Give up on a fetch (connect and body) after this long. */
  timeoutMs: number;
}

/** A key set that could not be obtained; the reason is ours, not the caller's token. */
export class JwksUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JwksUnavailableError";
  }
}

interface PublishedKey {
  kid: string | undefined;
  alg: AsymmetricAlg;
  key: CryptoKey;
}

/** A JWKS is a few keys; anything this large is not one, and would only cost memory. */
const MAX_BODY_CHARS = 512 * 1024;
/** More keys than any real issuer publishes; the rest are ignored, bounding import work. */
const MAX_KEYS = 32;
/** RSA below 2048 bits is forgeable in practice; such keys are ignored. */
const MIN_RSA_BITS = 2048;

/**
 * Fetches and caches one issuer's key set. After a failed refresh the previous
 * set stays usable for one more `cacheMs` (an outage of the issuer's endpoint
 * should not lock out users whose keys we already hold), then it is dropped.
 */
export class JwksCache {
  #keys: PublishedKey[] = [];
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #failure: string | undefined;
  #inflight: Promise<void> | undefined;

  constructor(readonly options: JwksCacheOptions) {}

  /**
   * The key for a token signed with `alg` whose header names `kid` (or, with no
   * kid, the only key for `alg`); undefined when the set has no such key even
   * after any refetch allowed now. Throws `JwksUnavailableError` when the set
   * cannot be obtained.
   */
  async key(alg: AsymmetricAlg, kid: string | undefined): Promise<CryptoKey | undefined> {
    if (this.#inflight) await this.#inflight;
    if (!this.#fresh() && this.#mayFetch()) await this.#refresh();
    if (!this.#usable()) throw this.#unavailable();
    const found = this.#match(alg, kid);
    if (found) return found;
    // Not in the set: maybe the issuer rotated keys since we fetched.
    if (this.#inflight) await this.#inflight;
    else if (this.#mayFetch()) await this.#refresh();
    if (!this.#usable()) throw this.#unavailable();
    const refetched = this.#match(alg, kid);
    if (refetched) return refetched;
    // The last word we have from the issuer is a failure: say so rather than blame the token.
    if (this.#failure !== undefined) throw this.#unavailable();
    return undefined;
  }

  #fresh(): boolean {
    return this.options.now() - this.#fetchedAt < this.options.cacheMs;
  }

  #usable(): boolean {
    return this.options.now() - this.#fetchedAt < 2 * this.options.cacheMs;
  }

  #mayFetch(): boolean {
    return this.options.now() - this.#attemptedAt >= this.options.minRefreshMs;
  }

  #unavailable(): JwksUnavailableError {
    return new JwksUnavailableError(
      `signing keys are unavailable (${this.#failure ?? "not fetched yet"})`,
    );
  }

  #match(alg: AsymmetricAlg, kid: string | undefined): CryptoKey | undefined {
    const candidates = this.#keys.filter((k) => k.alg === alg);
    if (kid !== undefined) return candidates.find((k) => k.kid === kid)?.key;
    // No kid: only unambiguous when the set has a single key for this algorithm.
    return candidates.length === 1 ? candidates[0].key : undefined;
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Never throws: the outcome is recorded on the instance for every waiting caller. */
  async #load(): Promise<void> {
    this.#attemptedAt = this.options.now();
    try {
      const body = await this.#download();
      this.#keys = await importKeySet(body);
      this.#fetchedAt = this.options.now();
      this.#failure = undefined;
    } catch (error) {
      this.#failure = error instanceof JwksUnavailableError ? error.message : "network error";
    }
  }

  async #download(): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    try {
      const response = await this.options.fetch(this.options.url, {
        headers: { accept: "application/json" },
        signal: controller.signal,
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new JwksUnavailableError(`HTTP ${response.status}`);
      }
      const text = await response.text();
      if (text.length > MAX_BODY_CHARS) throw new JwksUnavailableError("key set too large");
      try {
        return JSON.parse(text);
      } catch {
        throw new JwksUnavailableError("key set is not JSON");
      }
    } catch (error) {
      if (controller.signal.aborted) throw new JwksUnavailableError("timed out");
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Imports every usable verification key of a JWKS document; unusable entries are skipped. */
async function importKeySet(body: unknown): Promise<PublishedKey[]> {
  if (!isObject(body) || !Array.isArray(body.keys)) {
    throw new JwksUnavailableError("not a JSON key set");
  }
  const imported = await Promise.all(body.keys.slice(0, MAX_KEYS).map(importPublishedKey));
  return imported.filter((k): k is PublishedKey => k !== undefined);
}

async function importPublishedKey(jwk: unknown): Promise<PublishedKey | undefined> {
  if (!isObject(jwk)) return undefined;
  if (jwk.use !== undefined && jwk.use !== "sig") return undefined;
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes("verify")) return undefined;
  }
  if (jwk.kid !== undefined && typeof jwk.kid !== "string") return undefined;
  const spec = keySpec(jwk);
  if (!spec) return undefined;
  try {
    // Only the public fields go in: a stray `d`, `alg` or `key_ops` cannot change what we import.
    const key = await crypto.subtle.importKey("jwk", spec.publicJwk, spec.params, false, [
      "verify",
    ]);
    // Some runtimes accept an off-curve EC point at import and only fail on use:
    // one throwaway verification sorts such keys out here, not under a real token.
    await crypto.subtle.verify(
      VERIFY_PARAMS[spec.alg],
      key,
      new Uint8Array(spec.signatureBytes),
      PROBE,
    );
    return { kid: jwk.kid, alg: spec.alg, key };
  } catch {
    return undefined;
  }
}

interface KeySpec {
  alg: AsymmetricAlg;
  publicJwk: JsonWebKey;
  params: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  /** Length of a signature by this key, for the import probe. */
  signatureBytes: number;
}

/** What the import probe "verifies": its outcome does not matter, only that it does not throw. */
const PROBE = new Uint8Array(0);

/** Which algorithm a JWK may verify, from its `kty`, `crv` and optional `alg`; undefined if none. */
function keySpec(jwk: Record<string, unknown>): KeySpec | undefined {
  const declared = jwk.alg;
  if (jwk.kty === "EC" && jwk.crv === "P-256" && (declared ?? "ES256") === "ES256") {
    if (typeof jwk.x !== "string" || typeof jwk.y !== "string") return undefined;
    return {
      alg: "ES256",
      publicJwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
      params: { name: "ECDSA", namedCurve: "P-256" },
      signatureBytes: 64,
    };
  }
  if (jwk.kty === "RSA" && (declared ?? "RS256") === "RS256") {
    if (typeof jwk.n !== "string" || typeof jwk.e !== "string") return undefined;
    const bits = rsaModulusBits(jwk.n);
    if (bits < MIN_RSA_BITS) return undefined;
    return {
      alg: "RS256",
      publicJwk: { kty: "RSA", n: jwk.n, e: jwk.e },
      params: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      signatureBytes: Math.ceil(bits / 8),
    };
  }
  if (
    jwk.kty === "OKP" && jwk.crv === "Ed25519" &&
    (declared === undefined || declared === "EdDSA" || declared === "Ed25519")
  ) {
    if (typeof jwk.x !== "string") return undefined;
    return {
      alg: "EdDSA",
      publicJwk: { kty: "OKP", crv: "Ed25519", x: jwk.x },
      params: { name: "Ed25519" },
      signatureBytes: 64,
    };
  }
  return undefined;
}

function rsaModulusBits(n: string): number {
  let bytes: Uint8Array;
  try {
    bytes = base64UrlDecode(n);
  } catch {
    return 0;
  }
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
