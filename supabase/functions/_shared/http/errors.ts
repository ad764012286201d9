/**
 * JSON error responses with a stable shape: `{"error": {"code", "message", ...}}`.
 *
 * Every 4xx/5xx this project returns goes through here so callers can branch on
 * `error.code` and never have to parse prose.
 */

/** Extra, non-secret fields attached to an error body (e.g. the offending `field`). */
export type ErrorDetails = Record<string, string | number | boolean | null | string[]>;

/** An error that maps to exactly one HTTP response: status, stable code, safe message. */
export class HttpError extends Error {
  /** Extra fields of the error body. */
  readonly details: ErrorDetails;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details: ErrorDetails = {},
    readonly headers: Record<string, string> = {},
  ) {
    // A safety net for any site that forgot to clip what it quotes: an error stays small.
    super(clipInput(message, MAX_MESSAGE_CHARS));
    this.name = "HttpError";
    this.details = clipDetails(details);
  }
}

/** A JSON response with the given status and headers. */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The JSON response for an `HttpError`. */
export function errorResponse(error: HttpError, headers: Record<string, string> = {}): Response {
  return jsonResponse(
    { error: { code: error.code, message: error.message, ...error.details } },
    error.status,
    { ...error.headers, ...headers },
  );
}

/** Shorthand for a 400 naming the field that is wrong (clipped: callers build the path from input). */
export function validationError(field: string, message: string): HttpError {
  const shown = clipInput(field);
  return new HttpError(400, "VALIDATION_ERROR", `${shown}: ${message}`, { field: shown });
}

/** Longest quote of caller input an error shows by default. */
const MAX_QUOTE_CHARS = 100;
const MAX_MESSAGE_CHARS = 1_000;
const MAX_DETAIL_CHARS = 300;

/**
 * Caller-supplied text as an error may show it: at most `max` characters
 * (then "…"), well-formed (a cut may split a surrogate pair) and with NUL made
 * visible. Every error that quotes the request goes through here, so a 4 MB
 * field name can never become an 8 MB error.
 */
export function clipInput(text: string, max = MAX_QUOTE_CHARS): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.toWellFormed().replaceAll("\0", "\\0");
}

function clipDetails(details: ErrorDetails): ErrorDetails {
  const out: ErrorDetails = {};
  for (const [key, value] of Object.entries(details)) {
    out[key] = typeof value === "string"
      ? clipInput(value, MAX_DETAIL_CHARS)
      : Array.isArray(value)
      ? value.slice(0, 50).map((item) => clipInput(item, MAX_DETAIL_CHARS))
      : value;
  }
  return out;
}
