/** Request routing helpers shared by every function. */

/**
 * The part of the URL path after the function's name. Supabase passes
 * `/<name>/rest` in production and `/functions/v1/<name>/rest` locally; both
 * give `/rest` (or `/` for the function's root).
 */
export function functionSubPath(url: URL, functionName: string): string {
  const path = url.pathname;
  // The first whole segment equal to the name, found without splitting the path (every request).
  for (let at = path.indexOf(functionName); at !== -1; at = path.indexOf(functionName, at + 1)) {
    const end = at + functionName.length;
    if (path.charCodeAt(at - 1) !== SLASH) continue;
    if (end < path.length && path.charCodeAt(end) !== SLASH) continue;
    let stop = path.length;
    while (stop > end && path.charCodeAt(stop - 1) === SLASH) stop--;
    return "/" + path.slice(end + 1, stop);
  }
  return path || "/";
}

const SLASH = 0x2f;

/** The caller's request id when it is sane, else a new UUID. */
export function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  if (given && /^[A-Za-z0-9._:-]{8,128}$/.test(given)) return given;
  return crypto.randomUUID();
}
