/**
 * A gateway key's secret: `llmk_` and 32 random bytes in base64url, shown
 * once when the key is made. Only its SHA-256 (Web Crypto) is stored; a
 * presented key is found by that hash, so the secret never needs comparing.
 */
import { base64UrlEncode } from "./base64url.ts";

/** What every gateway key starts with (and what secret scanners look for). */
export const GATEWAY_KEY_PREFIX = "llmk_";

/** Random bytes behind the prefix. */
const SECRET_BYTES = 32;

/** The prefix and the base64url of exactly `SECRET_BYTES` bytes (43 characters, no padding). */
const SECRET_SHAPE = /^llmk_[A-Za-z0-9_-]{43}$/;

/** Characters of a secret that the list shows to tell keys apart: `llmk_` and 7 more (42 of 256 bits). */
const SHOWN_CHARS = 12;

/** A new secret. */
export function newGatewayKeySecret(): string {
  return GATEWAY_KEY_PREFIX + base64UrlEncode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** Whether `token` claims to be a gateway key (so it is never tried as a JWT or server key). */
export function looksLikeGatewayKey(token: string): boolean {
  return token.startsWith(GATEWAY_KEY_PREFIX);
}

/** Whether `token` has a gateway key's exact shape (a malformed one is refused without a lookup). */
export function isGatewayKeyShape(token: string): boolean {
  return SECRET_SHAPE.test(token);
}

/** The secret's first characters, as the key list shows them. */
export function gatewayKeyPrefix(secret: string): string {
  return secret.slice(0, SHOWN_CHARS);
}

/** The lowercase hex SHA-256 of `secret`: what is stored and looked up. */
export async function gatewayKeyHash(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  let hex = "";
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
