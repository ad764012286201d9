/**
 * llm-metrics: what the gateway is doing and costing, across every
 * llm-router isolate: `GET /` (JSON, or Prometheus with `?format=prometheus`),
 * `POST /reset`, `GET /budgets/:accountId`.
 */
import { processEnv } from "../_shared/runtime/env.ts";
import { jsonLogger } from "../_shared/runtime/log.ts";
import { serveIfEntry } from "../_shared/http/serve.ts";
import { createMetricsApp } from "./app.ts";

/** The function's request handler. */
export const handler = createMetricsApp({ env: processEnv(), log: jsonLogger("llm-metrics") });

serveIfEntry(import.meta.main, handler);
