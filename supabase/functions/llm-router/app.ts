/**
 * The llm-router handler: builds the world on the first request (and again
 * after a failed build), matches the route, authenticates the caller, reads
 * the body, and hands the route the request's facts. Route failures are
 * rendered in the route's dialect.
 */
import { createFunctionApp, methodNotAllowed, notFound } from "../_shared/http/app.ts";
import { readJsonObject } from "../_shared/http/body.ts";
import { HttpError, jsonResponse } from "../_shared/http/errors.ts";
import { accountAccess, authenticateCaller } from "../_shared/http/callers.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { retryingLazy } from "../_shared/runtime/retrying-lazy.ts";
import type { RequestContext } from "./context.ts";
import { httpErrorFrom } from "./errors.ts";
import { matchRoute } from "./routes.ts";
import { buildWorld, type WorldDeps } from "./world.ts";

/** The world llm-router runs in. */
export type RouterAppDeps = WorldDeps;

/** The llm-router handler, with a way to write out queued work (tests, shutdown). */
export type RouterApp = ((request: Request) => Promise<Response>) & {
  /** Writes queued usage rows, audit events and metrics now; the world keeps running. */
  flush(): Promise<void>;
  /** Writes queued work and stops the world's timers. */
  close(): Promise<void>;
};

/** Builds the llm-router request handler. Reads no env until the first request. */
export function createRouterApp(deps: RouterAppDeps): RouterApp {
  const world = retryingLazy(() => buildWorld(deps));

  const handler = createFunctionApp({
    name: "llm-router",
    env: deps.env,
    log: deps.log,
    route: async ({ request, path, requestId, commonHeaders }) => {
      const started = performance.now();
      const current = await world.get();
      const { method } = request;
      if (path === "/health" && method === "GET") return jsonResponse(current.health());
      const match = matchRoute(current.routes, method, path);
      if (match.kind === "none") throw notFound(path);
      if (match.kind === "method") throw methodNotAllowed(match.allow);
      const { route, params } = match;
      try {
        const caller = await authenticateCaller(request, current.credentials, route.jobs === true);
        if (caller.kind === "key" && route.gatewayKeys !== true) throw keyNotPermitted();
        const body = (method === "POST" || method === "PUT") && !route.noBody
          ? await readJsonObject(request, current.body.maxBytes, current.body.timeoutMs)
          : {};
        let query: URLSearchParams | undefined;
        const context: RequestContext = {
          caller,
          params,
          // Parsed only by the routes that read it (the chat routes do not).
          get query() {
            return query ??= new URL(request.url).searchParams;
          },
          body,
          signal: request.signal,
          started,
          requestId,
          commonHeaders,
          access: (requested) => accountAccess(caller, requested, current.memberships),
        };
        return await route.handler(context);
      } catch (error) {
        const failure = error instanceof LLMError ? httpErrorFrom(error) : error;
        if (route.errors && failure instanceof HttpError) return route.errors(failure);
        throw failure;
      }
    },
  });
  return Object.assign(handler, {
    flush: async () => {
      await (await settled(world.peek()))?.flush();
    },
    close: async () => {
      await (await settled(world.peek()))?.close();
    },
  });
}

/**
 * A gateway key outside the model entrances: keys call models for their
 * account; managing keys, settings and jobs takes a user's token or a server key.
 */
function keyNotPermitted(): HttpError {
  return new HttpError(
    403,
    "KEY_NOT_PERMITTED",
    "A gateway key may call the model entrances only (chat, messages, responses, embeddings, models); use a user's token or a server key for this",
  );
}

/** The built world, or undefined when there is none (never built, or its build failed). */
function settled<T>(building: Promise<T> | undefined): Promise<T | undefined> {
  return building?.catch(() => undefined) ?? Promise.resolve(undefined);
}
