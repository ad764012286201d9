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
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
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

/** Shorthand for a 400 naming the field that is wrong. */
export function validationError(field: string, message: string): HttpError {
  return new HttpError(400, "VALIDATION_ERROR", `${field}: ${message}`, { field });
}
