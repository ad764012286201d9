/**
 * llm-metrics: usage, latency and cost metrics (JSON and Prometheus).
 *
 * This is the function's shell: it boots, answers CORS and `GET /health`,
 * and refuses every other route with 501 until its capability lands, so
 * callers get a clear JSON answer rather than a crash or a hang.
 */
import { createFunctionApp } from "../_shared/http/app.ts";
import { EnvReader, processEnv } from "../_shared/http/env.ts";
import { HttpError, jsonResponse } from "../_shared/http/errors.ts";
import { jsonLogger, Logger } from "../_shared/http/log.ts";
import { serveIfEntry } from "../_shared/http/serve.ts";

/** Builds the llm-metrics handler. */
export function createMetricsHandler(env: EnvReader, log: Logger) {
  return createFunctionApp({
    name: "llm-metrics",
    env,
    log,
    route: ({ request, path }) => {
      if (request.method === "GET" && (path === "/health" || path === "/")) {
        return jsonResponse({ status: "ok", function: "llm-metrics" });
      }
      throw new HttpError(
        501,
        "NOT_IMPLEMENTED",
        "llm-metrics serves only GET /health in this release",
      );
    },
  });
}

/** The function's request handler. */
export const handler = createMetricsHandler(processEnv(), jsonLogger("llm-metrics"));

serveIfEntry(import.meta.main, handler);
