/**
 * llm-health: is the gateway up. `GET /` (or `/health`) is liveness: it
 * answers without touching a provider, database or store. Provider checks and
 * readiness arrive with the observability work.
 */
import { createFunctionApp, methodNotAllowed, notFound } from "../_shared/http/app.ts";
import { EnvReader, processEnv } from "../_shared/http/env.ts";
import { jsonResponse } from "../_shared/http/errors.ts";
import { jsonLogger, Logger } from "../_shared/http/log.ts";
import { serveIfEntry } from "../_shared/http/serve.ts";

/** Builds the llm-health handler. */
export function createHealthHandler(env: EnvReader, log: Logger, now: () => number = Date.now) {
  return createFunctionApp({
    name: "llm-health",
    env,
    log,
    route: ({ request, path }) => {
      if (path !== "/" && path !== "/health" && path !== "/live") throw notFound(path);
      if (request.method !== "GET" && request.method !== "HEAD") {
        throw methodNotAllowed("GET, HEAD, OPTIONS");
      }
      return jsonResponse({
        status: "ok",
        function: "llm-health",
        timestamp: new Date(now()).toISOString(),
      });
    },
  });
}

/** The function's request handler. */
export const handler = createHealthHandler(processEnv(), jsonLogger("llm-health"));

serveIfEntry(import.meta.main, handler);
