/**
 * The llm-metrics handler: `GET /` answers the totals every llm-router
 * isolate flushed to the store, as JSON or (`?format=prometheus`, or a
 * text/plain Accept) Prometheus text; `POST /reset` starts them over;
 * `GET /budgets/:accountId` shows an account's budgets. Owners and admins
 * (and server keys) only: 401 without credentials, 403 for a member.
 */
import { createFunctionApp, methodNotAllowed, notFound } from "../_shared/http/app.ts";
import { HttpError, jsonResponse } from "../_shared/http/errors.ts";
import { accountAccess, authenticateCaller, requireAdmin } from "../_shared/http/callers.ts";
import { isUuid } from "../_shared/data/ids.ts";
import { readMetrics, resetMetrics } from "../_shared/metrics/snapshot.ts";
import { type CircuitReport, metricsReport } from "../_shared/metrics/report.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "../_shared/metrics/prometheus.ts";
import type { MetricsSnapshot } from "../_shared/metrics/snapshot.ts";
import { budgetStatus } from "./budget-status.ts";
import { buildMetricsWorld, type MetricsWorld, type MetricsWorldDeps } from "./world.ts";

/** Builds the llm-metrics handler. Reads no env until the first request. */
export function createMetricsApp(deps: MetricsWorldDeps): (request: Request) => Promise<Response> {
  let world: Promise<MetricsWorld> | undefined;
  return createFunctionApp({
    name: "llm-metrics",
    env: deps.env,
    log: deps.log,
    route: async ({ request, path }) => {
      if (path === "/health") {
        return jsonResponse({ status: "ok", function: "llm-metrics" });
      }
      const budgetPath = /^\/budgets\/([^/]+)$/.exec(path);
      if (path !== "/" && path !== "/metrics" && path !== "/reset" && !budgetPath) {
        throw notFound(path);
      }
      world ??= buildMetricsWorld(deps);
      const current = await world;
      const caller = await authenticateCaller(request, current.credentials);

      if (budgetPath) {
        if (request.method !== "GET") throw methodNotAllowed("GET, OPTIONS");
        const accountId = decodeURIComponent(budgetPath[1]);
        if (!isUuid(accountId)) {
          throw new HttpError(400, "VALIDATION_ERROR", "accountId must be a UUID", {
            field: "accountId",
          });
        }
        requireAdmin(await accountAccess(caller, accountId, current.memberships), "read budgets");
        if (!current.guardSettings) {
          throw new HttpError(
            503,
            "CONFIG_MISSING",
            "Budgets need the database: set SUPABASE_DB_URL",
            {
              missing: ["SUPABASE_DB_URL"],
            },
          );
        }
        return jsonResponse(await budgetStatus(current, accountId));
      }

      // Metrics span every account: a member of one must not read them.
      if (caller.kind === "user" && caller.role !== "admin" && caller.role !== "owner") {
        throw new HttpError(
          403,
          "FORBIDDEN",
          "Only owners, admins and server keys may read metrics",
        );
      }
      if (path === "/reset") {
        if (request.method !== "POST") throw methodNotAllowed("POST, OPTIONS");
        await resetMetrics(current.store, current.now());
        deps.log.warn("metrics_reset", { by: caller.userId ?? caller.kind });
        return jsonResponse({
          success: true,
          reset: true,
          timestamp: new Date(current.now()).toISOString(),
        });
      }
      if (request.method !== "GET") throw methodNotAllowed("GET, OPTIONS");
      const snapshot = await readMetrics(current.store);
      const circuits = await circuitsOf(current, snapshot);
      if (wantsPrometheus(request)) {
        return new Response(prometheusText(snapshot, circuits, current.now()), {
          headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
        });
      }
      return jsonResponse(metricsReport(snapshot, circuits, current.now()));
    },
  });
}

/** `?format=prometheus`, or an Accept that asks for text/plain before JSON (as scrapers send). */
function wantsPrometheus(request: Request): boolean {
  const format = new URL(request.url).searchParams.get("format");
  if (format) return format === "prometheus";
  const accept = request.headers.get("accept") ?? "";
  return /text\/plain|openmetrics/.test(accept) && !/application\/json/.test(accept);
}

/**
 * Circuits as every isolate sees them: each catalog model's is read (one
 * pipelined round trip on Redis); those with traffic are always listed, the
 * others only when not closed (a model can fail over to another and so never
 * show in the counters, yet its circuit is what an operator wants to see).
 */
async function circuitsOf(
  world: MetricsWorld,
  snapshot: MetricsSnapshot,
): Promise<CircuitReport[]> {
  const served = new Set(snapshot.series.map(({ labels }) => `${labels.provider}:${labels.model}`));
  const readings = await Promise.all(
    world.catalog.all().map(async (model) => ({
      provider: model.provider,
      model: model.id,
      state: await world.breakers.state(`platform:${model.provider}:${model.id}`, world.now()),
    })),
  );
  return readings.filter((c) => c.state !== "CLOSED" || served.has(`${c.provider}:${c.model}`));
}
