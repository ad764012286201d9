/**
 * Reading a JSON request body under a size limit, with a 4xx for every way it
 * can be wrong. The limit is enforced while streaming, so an oversized body is
 * never buffered whole.
 */
import { HttpError } from "./errors.ts";

/** Reads `request`'s body as a JSON object of at most `maxBytes` bytes. */
export async function readJsonObject(
  request: Request,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const contentType = request.headers.get("content-type");
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType.trim())) {
    throw new HttpError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `Content-Type must be application/json, got ${contentType.slice(0, 80)}`,
    );
  }
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);

  // With a declared length within the limit the runtime reads the body natively (faster);
  // without one (chunked), it is counted chunk by chunk so a huge body is never buffered.
  const bytes = Number.isFinite(declared) && request.headers.has("content-length")
    ? new Uint8Array(await request.arrayBuffer())
    : await readLimited(request, maxBytes);
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
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
  return parsed as Record<string, unknown>;
}

async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    "PAYLOAD_TOO_LARGE",
    `Request body exceeds the limit of ${maxBytes} bytes`,
    { limitBytes: maxBytes },
  );
}
