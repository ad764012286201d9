/**
 * The text of a failed check as health answers show it: public endpoints
 * print it, so it is scrubbed of keys (redactSecrets), of credentials in
 * URLs (a base URL may carry `user:password@`), and kept short.
 */
import { LLMError } from "../llm/errors.ts";
import { redactSecrets } from "../runtime/redact.ts";

/** Longest error text kept. */
export const MAX_ERROR_CHARS = 300;

/** `CODE: message` for an `LLMError`, `Name: message` otherwise; sanitized and at most 300 characters. */
export function healthErrorText(error: unknown): string {
  const text = error instanceof LLMError
    ? `${error.code}: ${error.message}`
    : error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  return redactSecrets(text.replace(/\/\/[^/\s@]+@/g, "//[redacted]@")).slice(0, MAX_ERROR_CHARS);
}
