/**
 * The llm-health handler. Its root (`GET /`, also `/health` and `/providers`)
 * is the providers report callers and uptime monitors expect: 200 when every
 * configured provider is healthy, 503 otherwise, from the shared check
 * results (checking when they are stale). Liveness (`/live`) touches nothing;
 * `/ready` checks the database and the store; `POST /check` runs the checks
 * now, for the scheduler. The world behind all but liveness is built on the
 * first request that needs it.
 */
import { createFunctionApp, methodNotAllowed, notFound } from "../_shared/http/app.ts";
import { jsonResponse } from "../_shared/http/errors.ts";
import { checkReadiness } from "../_shared/health/readiness.ts";
import { retryingLazy } from "../_shared/runtime/retrying-lazy.ts";
import { requireScheduler } from "./check-auth.ts";
import { buildHealthWorld, type HealthAppDeps } from "./world.ts";

export type { HealthAppDeps } from "./world.ts";

/** Where the providers report is served: the root is the seed's contract; the others are aliases. */
const REPORT_PATHS = new Set(["/", "/health", "/providers"]);

/** Builds the llm-health request handler. Reads no env until the first request. */
export function createHealthApp(deps: HealthAppDeps): (request: Request) => Promise<Response> {
  const now = deps.now ?? Date.now;
  // A failed build is retried by the next request, not cached for the isolate's life.
  const world = retryingLazy(() => buildHealthWorld(deps));
  const currentWorld = world.get;

  return createFunctionApp({
    name: "llm-health",
    env: deps.env,
    log: deps.log,
    route: async ({ request, path }) => {
      const method = request.method;
      if (path === "/live") {
        if (method !== "GET" && method !== "HEAD") throw methodNotAllowed("GET, HEAD, OPTIONS");
        return jsonResponse({
          status: "ok",
          function: "llm-health",
          timestamp: new Date(now()).toISOString(),
        });
      }
      if (REPORT_PATHS.has(path)) {
        if (method !== "GET" && method !== "HEAD") throw methodNotAllowed("GET, HEAD, OPTIONS");
        // Public: `?refresh=1` pings only past LLM_HEALTH_MIN_REFRESH_SECONDS, so callers cannot run up pings.
        const refresh = /^(1|true)$/.test(new URL(request.url).searchParams.get("refresh") ?? "");
        const report = await (await currentWorld()).checks.summary(refresh);
        return jsonResponse(report, report.healthy ? 200 : 503);
      }
      if (path === "/ready") {
        if (method !== "GET") throw methodNotAllowed("GET, OPTIONS");
        const { db, store, readyTimeoutMs } = await currentWorld();
        const readiness = await checkReadiness({ db, store, timeoutMs: readyTimeoutMs });
        return jsonResponse(
          readiness.ready
            ? { status: "ready", checks: readiness.checks }
            : { status: "not_ready", failed: readiness.failed, checks: readiness.checks },
          readiness.ready ? 200 : 503,
        );
      }
      if (path === "/check") {
        if (method !== "POST") throw methodNotAllowed("POST, OPTIONS");
        const current = await currentWorld();
        await requireScheduler(request, current.credentials);
        // 200 means the check ran; how the providers are doing is in the body.
        return jsonResponse(await current.checks.summary(true, true));
      }
      throw notFound(path);
    },
  });
}
