/**
 * The llm-router handler: authenticates the caller, matches the route, and
 * hands it a context with the per-isolate world (router, database,
 * repositories, state store), which is built once, on the first request.
 */
import { createFunctionApp, methodNotAllowed, notFound } from "../_shared/http/app.ts";
import { readJsonObject } from "../_shared/http/body.ts";
import { HttpError, jsonResponse } from "../_shared/http/errors.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import { accountAccess, authenticateCaller } from "../_shared/http/callers.ts";
import { membershipsIn } from "../_shared/data/memberships.ts";
import type { RouterRequestContext } from "./context.ts";
import { httpErrorFrom, withOpenAIErrors } from "./errors.ts";
import { RequestReporter } from "./request-report.ts";
import { matchRoute } from "./routes.ts";
import { buildWorld, type RouterWorld, type WorldDeps } from "./world.ts";

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
  let world: Promise<RouterWorld> | undefined;

  const handler = createFunctionApp({
    name: "llm-router",
    env: deps.env,
    log: deps.log,
    route: async ({ request, path, requestId }) => {
      const started = performance.now();
      world ??= buildWorld(deps);
      const current = await world;
      if (path === "/health" && request.method === "GET") {
        return jsonResponse({
          status: "ok",
          function: "llm-router",
          providers: current.router.availableProviders(),
          store: current.store.kind,
          // What the audit queue holds, wrote and dropped: the numbers metrics report.
          auditQueue: current.auditQueue?.stats() ?? null,
          usageQueue: current.usage?.stats() ?? null,
        });
      }
      const match = matchRoute(request.method, path);
      if (match.kind === "none") throw notFound(path);
      if (match.kind === "method") throw methodNotAllowed(match.allow);
      const { route, params } = match;

      const run = async () => {
        const caller = await authenticateCaller(request, current.credentials, route.jobs === true);
        const body = (request.method === "POST" || request.method === "PUT") && !route.noBody
          ? await readJsonObject(request, current.maxBodyBytes, current.bodyTimeoutMs)
          : {};
        const memberships = current.db ? membershipsIn(current.db) : undefined;
        const context: RouterRequestContext = {
          world: current,
          caller,
          params,
          query: new URL(request.url).searchParams,
          body,
          signal: request.signal,
          started,
          requestId,
          log: current.log,
          access: (requested) => accountAccess(caller, requested, memberships),
          routerFor: (accountId) => routerFor(current, accountId),
          now: current.now,
          reporter: (base) =>
            new RequestReporter({
              log: current.log,
              usage: current.usage,
              audit: current.auditQueue,
              metrics: current.metrics,
              waitUntil: current.waitUntil,
            }, {
              requestId,
              caller: caller.kind,
              ...base,
            }, started),
        };
        try {
          return await route.handler(context);
        } catch (error) {
          if (error instanceof LLMError) throw httpErrorFrom(error);
          throw error;
        }
      };
      return route.openAI ? await withOpenAIErrors(run) : await run();
    },
  });
  return Object.assign(handler, {
    flush: async () => {
      if (!world) return;
      const current = await world;
      // Queues first: a row they set aside is counted in the metrics flushed after them.
      await Promise.all([current.usage?.flush(), current.auditQueue?.flush()]);
      await current.metrics.flush();
    },
    close: async () => {
      if (world) await (await world).close();
    },
  });
}

/**
 * The router for one account: the shared one, or, when the account stored
 * its own provider keys, a fresh router holding them, so one tenant's key can
 * never serve another's request.
 */
async function routerFor(world: RouterWorld, accountId: string | undefined): Promise<LLMRouter> {
  if (!world.keys || typeof world.vault === "string") return world.router;
  let keys: Record<string, string>;
  try {
    keys = await world.keys.decrypted(accountId, world.vault);
  } catch {
    // A key that no longer decrypts (tampered, or its master version retired) must not be used or leaked.
    throw new HttpError(
      500,
      "KEY_UNAVAILABLE",
      "The account's stored provider key cannot be decrypted; store it again",
    );
  }
  return Object.keys(keys).length
    ? world.router.withApiKeys(keys, `account:${accountId}`)
    : world.router;
}
