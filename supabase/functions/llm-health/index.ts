/**
 * llm-health: is the gateway up, ready, and are its providers answering.
 * `GET /` (and `/health`, `/providers`) reports provider checks shared by
 * every isolate, 200 or 503; `GET /live` is liveness and touches nothing;
 * `GET /ready` checks the database and the store; `POST /check` runs the
 * provider checks for the scheduler.
 */
import { processEnv } from "../_shared/runtime/env.ts";
import { jsonLogger } from "../_shared/runtime/log.ts";
import { serveIfEntry } from "../_shared/http/serve.ts";
import { createHealthApp } from "./app.ts";

export { createHealthApp, type HealthAppDeps } from "./app.ts";

/** The function's request handler. */
export const handler = createHealthApp({ env: processEnv(), log: jsonLogger("llm-health") });

serveIfEntry(import.meta.main, handler);
