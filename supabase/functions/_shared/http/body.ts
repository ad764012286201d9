/**
 * Reading a JSON request body under a size limit and a deadline, with a 4xx
 * for every way it can be wrong. A declared length over the limit is refused
 * before a byte is read, and a body of unknown length is counted while it
 * streams, so an oversized body is never buffered whole; the deadline (408,
 * watched by one shared timer, `deadline-watch.ts`) keeps a client trickling
 * its body from holding the request open; and every string and key in it is
 * checked against the text rules (`request-text.ts`) before any route sees it.
 */
import { clipInput, HttpError } from "./errors.ts";
import { DeadlineWatch } from "./deadline-watch.ts";
import { checkRequestJson } from "./request-text.ts";

/**
 * How long a body may take to arrive in full when the caller does not say.
 * 30 s: a 4 MB body (images) still arrives over an uplink of ~1 Mbit/s, while
 * a client trickling bytes is cut off long before Supabase's 150 s wall clock.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** Strict: a body that is not UTF-8 is a 400, not text with replacement characters. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

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
  const length = request.headers.get("content-length");
  const declared = length === null ? Number.NaN : Number(length);
  if (declared > maxBytes) throw tooLarge(maxBytes);

  const bytes = Number.isInteger(declared) && declared >= 0
    ? await readDeclared(request, maxBytes, timeoutMs)
    : await readChunked(request, maxBytes, timeoutMs);
  if (bytes.length === 0) {
    throw new HttpError(400, "INVALID_JSON", "Request body is empty; send a JSON object");
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
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

/** One watch per deadline length in use (a function has one or two). */
const watches = new Map<number, DeadlineWatch>();

/** Calls `onLate` after `timeoutMs` unless the returned function is called first. */
function deadline(timeoutMs: number, onLate: () => void): () => void {
  let watch = watches.get(timeoutMs);
  if (!watch) {
    // Lengths come from configuration, but a caller could pass ever new ones: forget idle watches.
    if (watches.size >= 16) {
      for (const [ms, idle] of watches) if (idle.size === 0) watches.delete(ms);
    }
    watches.set(timeoutMs, watch = new DeadlineWatch(timeoutMs));
  }
  return watch.watch(onLate);
}

/**
 * A body whose length is declared within the limit: read whole by the
 * runtime (no stream of chunks through JavaScript) unless the deadline comes
 * first. The HTTP framing holds the body to its declared length; the check
 * after the read covers a Request built in-process with a header that does
 * not match.
 */
function readDeclared(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const reading = request.arrayBuffer();
    // The 408 goes out now; the abandoned read ends when the connection does.
    const unwatch = deadline(timeoutMs, () => reject(timedOut(timeoutMs)));
    reading.then((buffer) => {
      unwatch();
      if (buffer.byteLength > maxBytes) reject(tooLarge(maxBytes));
      else resolve(new Uint8Array(buffer));
    }, (error) => {
      unwatch();
      reject(error);
    });
  });
}

/**
 * A body of unknown length, counted chunk by chunk so a huge one is never
 * buffered. At the deadline the reader is cancelled: the pending read then
 * ends (done) and the flag says why, so no chunk waits in a race.
 */
async function readChunked(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  let late = false;
  const unwatch = deadline(timeoutMs, () => {
    late = true;
    reader.cancel().catch(() => {});
  });
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (late) throw timedOut(timeoutMs);
      if (done) break;
      if (total + value.byteLength > maxBytes) throw tooLarge(maxBytes);
      parts.push(value);
      total += value.byteLength;
    }
  } catch (error) {
    if (late) throw error instanceof HttpError ? error : timedOut(timeoutMs);
    // Not awaited: the 413 goes out now, whatever the client does next.
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    unwatch();
  }
  return joined(parts, total);
}

/** The chunks as one buffer, copied once at the end (no buffer grown and thrown away per chunk). */
function joined(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
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
