/**
 * llm-router's routes: method and path pattern (`:param` segments) to a
 * handler. Each route group builds its own entries from the services it
 * uses; the world puts them together into one table.
 */
import { validationError } from "../_shared/http/errors.ts";
import type { HttpError } from "../_shared/http/errors.ts";
import { textProblem } from "../_shared/http/request-text.ts";
import type { RequestContext } from "./context.ts";

/** Longest path parameter (agent ids and provider names are at most 200 characters everywhere). */
const MAX_PARAM_CHARS = 200;

/** A route's handler. */
export type RouteHandler = (request: RequestContext) => Response | Promise<Response>;

/** One route. */
export interface Route {
  method: string;
  pattern: string;
  handler: RouteHandler;
  /** Renders the route's errors (auth included) in a dialect's shape; absent: the native JSON error. */
  errors?: (error: HttpError) => Response;
  /** Accepts the job secret as well as user and server credentials. */
  jobs?: boolean;
  /** A model entrance, open to gateway keys (every other route refuses them with 403). */
  gatewayKeys?: boolean;
  /** A POST that takes no body (its input is the query): none is read, so `curl -X POST` works. */
  noBody?: boolean;
}

/** What matching a path found. */
export type RouteMatch =
  | { kind: "found"; route: Route; params: Record<string, string> }
  | { kind: "method"; allow: string }
  | { kind: "none" };

/**
 * Matches `method path` against `routes`. A path parameter must decode to
 * text obeying the request text rules: it reaches the database as an id, so
 * `/agents/%00/preferences` is a 400 naming it, never a query that fails.
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const route of routes) {
    const raw = matchPattern(route.pattern, path);
    if (!raw) continue;
    if (route.method === method) return { kind: "found", route, params: decodeParams(raw) };
    allowed.push(route.method);
  }
  return allowed.length
    ? { kind: "method", allow: [...allowed, "OPTIONS"].join(", ") }
    : { kind: "none" };
}

/** The pattern's `:param` segments of `path`, still percent-encoded, or undefined when it does not match. */
function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  // Most patterns have no parameter: compare them whole, without splitting.
  if (!pattern.includes(":")) return pattern === path ? {} : undefined;
  const want = pattern.split("/");
  const have = path.split("/");
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      if (have[i] === "") return undefined;
      params[want[i].slice(1)] = have[i];
    } else if (want[i] !== have[i]) {
      return undefined;
    }
  }
  return params;
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, encoded] of Object.entries(raw)) {
    let value: string;
    try {
      value = decodeURIComponent(encoded);
    } catch {
      throw validationError(name, "is not valid percent-encoded UTF-8");
    }
    const problem = textProblem(value, MAX_PARAM_CHARS);
    if (problem) throw validationError(name, problem);
    params[name] = value;
  }
  return params;
}
