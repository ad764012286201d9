/**
 * Reading a JSON request body under a size limit and a deadline, with a 4xx
 * for every way it can be wrong. The limit is enforced while streaming, so an
 * oversized body is never buffered whole; the deadline (408) keeps a client
 * trickling its body from holding the request open; and every string and key
 * in it is checked against the text rules (`request-text.ts`) before any route
 * sees it.
 */
import { clipInput, HttpError } from "./errors.ts";
import { checkRequestJson } from "./request-text.ts";

/**
 * How long a body may take to arrive in full when the caller does not say.
 * 30 s: a 4 MB body (images) still arrives over an uplink of ~1 Mbit/s, while
 * a client trickling bytes is cut off long before Supabase's 150 s wall clock.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/**
 * Reads `request`'s body as a JSON object of at most `maxBytes` bytes that
 * must arrive within `timeoutMs` (408 `REQUEST_TIMEOUT` otherwise).
 */
export async function readJsonObject(
  request: Request,
  maxBytes: number,
  timeoutMs: number = DEFAULT_BODY_TIMEOUT_MS,
): Promise<Record<string, unknown>> {
  const contentType = request.headers.get("content-type");
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType.trim())) {
    throw new HttpError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Type must be application/json, got ${clipInput(contentType, 80)}`,
    );
  }
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);

  const bytes = await readLimited(request, maxBytes, timeoutMs);
  if (bytes.length === 0) {
    throw new HttpError(400, "INVALID_JSON", "Request body is empty; send a JSON object");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "INVALID_JSON", "Request body is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : "parse failed";
    throw new HttpError(400, "INVALID_JSON", `Request body is not valid JSON (${reason})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HttpError(400, "VALIDATION_ERROR", "Request body must be a JSON object", {
      field: "body",
    });
  }
  checkRequestJson(parsed);
  return parsed as Record<string, unknown>;
}

/**
 * The body's bytes, counted chunk by chunk so a huge body is never buffered,
 * and given up (reader cancelled, 408) when the deadline passes first.
 */
async function readLimited(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(timeoutMs)), timeoutMs);
  });
  // With a declared length the bytes go straight into one buffer of that size: no second copy
  // (a burst of large bodies is what fills an isolate's memory first).
  const declared = Number(request.headers.get("content-length") ?? NaN);
  let buffer = new Uint8Array(
    Number.isInteger(declared) && declared >= 0 && declared <= maxBytes ? declared : 0,
  );
  let total = 0;
  try {
    while (true) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (done) break;
      if (total + value.byteLength > maxBytes) throw tooLarge(maxBytes);
      if (total + value.byteLength > buffer.length) {
        buffer = grown(buffer, total + value.byteLength, maxBytes);
      }
      buffer.set(value, total);
      total += value.byteLength;
    }
  } catch (error) {
    // Not awaited: the 408 (or 413) goes out now, whatever the client does next.
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return total === buffer.length ? buffer : buffer.subarray(0, total);
}

/** A copy of `buffer` with room for `needed` bytes (doubling up to `limit`, for chunked bodies). */
function grown(buffer: Uint8Array, needed: number, limit: number): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(Math.max(needed, Math.min(limit, buffer.length * 2 || 65_536)));
  bigger.set(buffer);
  return bigger;
}

function timedOut(timeoutMs: number): HttpError {
  return new HttpError(
    408,
    "REQUEST_TIMEOUT",
    `The request body did not arrive within ${timeoutMs} ms`,
    { timeoutMs },
  );
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    "PAYLOAD_TOO_LARGE",
    `Request body exceeds the limit of ${maxBytes} bytes`,
    { limitBytes: maxBytes },
  );
}
