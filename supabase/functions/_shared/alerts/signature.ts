/**
 * Signed webhook deliveries, through Web Crypto: `x-llm-signature:
 * sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the webhook's
 * secret, and `x-llm-timestamp: <unix seconds>`. The timestamp is inside
 * what is signed, so a captured delivery cannot be replayed later with a
 * fresh timestamp: a receiver verifies the signature over the raw body, then
 * refuses a timestamp older than a few minutes.
 */
import { base64UrlEncode } from "../security/base64url.ts";
import { fromHex, toHex } from "../security/hex.ts";

/** The signature header. */
export const SIGNATURE_HEADER = "x-llm-signature";
/** The header with the unix time (seconds) the delivery was signed. */
export const TIMESTAMP_HEADER = "x-llm-timestamp";
/** How old a delivery a receiver should still accept, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

function hmacKey(secret: string, use: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [use],
  );
}

/** A new signing secret, `whsec_` and 32 random bytes (base64url). */
export function newWebhookSecret(): string {
  return `whsec_${base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** The `x-llm-signature` value of `body` sent at `timestamp` (unix seconds). */
export async function signWebhook(
  secret: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret, "sign"),
    encoder.encode(`${timestamp}.${body}`),
  );
  return `sha256=${toHex(mac)}`;
}

/** What a receiver got. */
export interface SignedDelivery {
  /** The raw body, exactly as received. */
  body: string;
  /** The `x-llm-signature` header. */
  signature: string | null;
  /** The `x-llm-timestamp` header. */
  timestamp: string | null;
}

/**
 * Whether `delivery` was signed with `secret` no more than `toleranceSeconds`
 * before `nowMs` (and not from the future by more than that). The comparison
 * is Web Crypto's own (constant-time) verify. For receivers and tests.
 */
export async function verifyWebhookSignature(
  secret: string,
  delivery: SignedDelivery,
  nowMs: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Promise<boolean> {
  const timestamp = Number(delivery.timestamp);
  if (!delivery.timestamp || !Number.isSafeInteger(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceSeconds) return false;
  const hex = delivery.signature?.startsWith("sha256=") ? delivery.signature.slice(7) : undefined;
  const mac = hex === undefined ? undefined : fromHex(hex);
  if (!mac || mac.length !== 32) return false;
  return await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret, "verify"),
    mac,
    encoder.encode(`${timestamp}.${delivery.body}`),
  );
}
