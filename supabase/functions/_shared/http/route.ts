/** Request routing helpers shared by every function. */

/**
 * The part of the URL path after the function's name. Supabase passes
 * `/<name>/rest` in production and `/functions/v1/<name>/rest` locally; both
 * give `/rest` (or `/` for the function's root).
 */
export function functionSubPath(url: URL, functionName: string): string {
  const segments = url.pathname.split("/");
  const index = segments.indexOf(functionName);
  if (index === -1) return url.pathname || "/";
  const rest = segments.slice(index + 1).join("/");
  return "/" + rest.replace(/\/+$/, "");
}

/** The caller's request id when it is sane, else a new UUID. */
export function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  if (given && /^[A-Za-z0-9._:-]{8,128}$/.test(given)) return given;
  return crypto.randomUUID();
}
