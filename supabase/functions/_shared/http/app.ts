/**
 * The shell every function runs its routes in: CORS (preflight and headers on
 * every response), a request id, and errors turned into JSON. A route throws
 * `HttpError` for a 4xx/5xx; anything else becomes a 500 with no detail leaked.
 */
import { corsHeaders, CorsPolicy, corsPolicyFrom, preflightResponse, withHeaders } from "./cors.ts";
import { clipInput, errorResponse, HttpError, validationError } from "./errors.ts";
import { EnvReader } from "../runtime/env.ts";
import { Logger } from "../runtime/log.ts";
import { functionSubPath, requestIdOf } from "./route.ts";
import { textProblem } from "./request-text.ts";
import { errorMessage } from "../runtime/error-message.ts";

/** What a route sees of the request. */
export interface RouteContext {
  request: Request;
  /** Path after the function name: `/`, `/health`, `/v1/chat/completions` … */
  path: string;
  requestId: string;
  /**
   * The headers every response gets (CORS, `x-request-id`). A route that puts
   * them into its response itself (last, so they win as they would here) and
   * hands it to `carriesCommonHeaders` has it returned as it is.
   */
  commonHeaders: Readonly<Record<string, string>>;
}

/**
 * Set on a response built with its request's `commonHeaders` already (a
 * property, not a WeakSet: a set of every response would cost each GC).
 */
const COMPLETE = Symbol("carries common headers");

type Marked = Response & { [COMPLETE]?: true };

/**
 * Marks `response` as built with its request's `commonHeaders`, so the shell
 * does not add them again: setting headers on a built response costs a copy
 * of its header list and the runtime's fast path for sending it.
 */
export function carriesCommonHeaders(response: Response): Response {
  (response as Marked)[COMPLETE] = true;
  return response;
}

/** Options of `createFunctionApp`. */
export interface FunctionAppOptions {
  name: string;
  env: EnvReader;
  log: Logger;
  route: (context: RouteContext) => Response | Promise<Response>;
}

/** Wraps `route` into a complete function handler. */
export function createFunctionApp(
  options: FunctionAppOptions,
): (request: Request) => Promise<Response> {
  let cors: CorsPolicy | undefined;
  return async (request) => {
    cors ??= corsPolicyFrom(options.env("CORS_ALLOWED_ORIGINS"));
    if (request.method === "OPTIONS") return preflightResponse(request, cors);
    const requestId = requestIdOf(request);
    const common = { ...corsHeaders(request, cors), "x-request-id": requestId };
    try {
      const url = new URL(request.url);
      if (url.search !== "") checkQuery(url.searchParams);
      const path = functionSubPath(url, options.name);
      const response = await options.route({ request, path, requestId, commonHeaders: common });
      return (response as Marked)[COMPLETE] ? response : withHeaders(response, common);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error, common);
      options.log.error("unhandled", {
        requestId,
        detail: errorMessage(error),
      });
      return errorResponse(
        new HttpError(
          500,
          "INTERNAL",
          "Unexpected error; quote the x-request-id header when reporting it",
        ),
        common,
      );
    }
  };
}

/** A 404 for a path the function does not serve. */
export function notFound(path: string): HttpError {
  return new HttpError(404, "NOT_FOUND", `No route for ${clipInput(path, 200)}`);
}

/** Longest query parameter value a function accepts (they are ids and flags). */
const MAX_QUERY_VALUE_CHARS = 1_000;

/** Query parameters obey the text rules too: they reach the database as ids (`?agentId=`). */
function checkQuery(query: URLSearchParams): void {
  for (const [name, value] of query) {
    const problem = textProblem(name, 64) ?? textProblem(value, MAX_QUERY_VALUE_CHARS);
    if (problem) throw validationError(`query.${name}`, problem);
  }
}

/** A 405 listing the methods a path accepts. */
export function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, "METHOD_NOT_ALLOWED", `Allowed methods: ${allow}`, {}, { allow });
}
