/**
 * The llm-metrics handler: `GET /` answers the totals every llm-router
 * isolate flushed to the store, as JSON or (`?format=prometheus`, or a
 * text/plain Accept) Prometheus text; `GET /budgets/:accountId` shows an
 * account's budgets; `POST /reset` starts every count over.
 *
 * Who sees what: an account's owners and admins read their own account's
 * figures only (a member gets 403); server keys read the whole platform, or
 * one account with `?accountId=`, and only they may reset (counts span every
 * tenant). `&keyId=` narrows an account's figures to one of its gateway keys.
 * Circuit states are shown to all of them: they are the platform's view of a
 * provider, not any tenant's data.
 */
import { scrubbingLogger } from "../_shared/runtime/log.ts";
import { BUILT_IN_PROVIDERS } from "../_shared/llm/providers/registry.ts";
import { platformCircuitKey } from "../_shared/llm/circuit-key.ts";
import { secretScrubberFromEnv } from "../_shared/security/known-secrets.ts";
import { createFunctionApp, methodNotAllowed, notFound } from "../_shared/http/app.ts";
import { HttpError, jsonResponse } from "../_shared/http/errors.ts";
import {
  accountAccess,
  authenticateCaller,
  type Caller,
  requireAdmin,
} from "../_shared/http/callers.ts";
import { isUuid } from "../_shared/data/ids.ts";
import { readMetrics, resetMetrics } from "../_shared/metrics/snapshot.ts";
import { type CircuitReport, metricsReport } from "../_shared/metrics/report.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "../_shared/metrics/prometheus.ts";
import type { MetricsSnapshot } from "../_shared/metrics/snapshot.ts";
import { budgetStatus } from "./budget-status.ts";
import { retryingLazy } from "../_shared/runtime/retrying-lazy.ts";
import { buildMetricsWorld, type MetricsWorld, type MetricsWorldDeps } from "./world.ts";

/** Builds the llm-metrics handler. Reads no env until the first request. */
export function createMetricsApp(deps: MetricsWorldDeps): (request: Request) => Promise<Response> {
  // Every line scrubbed of the env's secrets in any encoding (env read on the first line).
  const log = scrubbingLogger(
    deps.log,
    () => secretScrubberFromEnv(deps.env, BUILT_IN_PROVIDERS.map((spec) => spec.keyEnv)),
  );
  // Built on the first request that needs it, and again after a failed build.
  const world = retryingLazy(() => buildMetricsWorld({ ...deps, log }));
  return createFunctionApp({
    name: "llm-metrics",
    env: deps.env,
    log,
    route: async ({ request, path }) => {
      if (path === "/health") {
        return jsonResponse({ status: "ok", function: "llm-metrics" });
      }
      const budgetPath = /^\/budgets\/([^/]+)$/.exec(path);
      if (path !== "/" && path !== "/metrics" && path !== "/reset" && !budgetPath) {
        throw notFound(path);
      }
      const current = await world.get();
      const caller = await authenticateCaller(request, current.credentials);

      if (budgetPath) {
        if (request.method !== "GET") throw methodNotAllowed("GET, OPTIONS");
        const accountId = uuidParam(decodedSegment(budgetPath[1]));
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

      if (path === "/reset") {
        if (request.method !== "POST") throw methodNotAllowed("POST, OPTIONS");
        // Counts span every tenant: an admin of one account must not wipe the others'.
        if (caller.kind !== "service") {
          throw new HttpError(403, "FORBIDDEN", "Only server keys may reset metrics");
        }
        await resetMetrics(current.store, current.now());
        log.warn("metrics_reset", { by: caller.kind });
        return jsonResponse({
          success: true,
          reset: true,
          timestamp: new Date(current.now()).toISOString(),
        });
      }
      if (request.method !== "GET") throw methodNotAllowed("GET, OPTIONS");
      const query = new URL(request.url).searchParams;
      const accountId = await metricsScope(caller, query.get("accountId") ?? undefined, current);
      const keyId = gatewayKeyParam(query.get("keyId") ?? undefined, accountId);
      const snapshot = await readMetrics(current.store, accountId, keyId);
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

/**
 * Whose figures the caller reads: undefined for the platform (server keys
 * naming no account), else an account id. A user reads the account they act
 * for, as an owner or admin of it (403 otherwise).
 */
async function metricsScope(
  caller: Caller,
  requested: string | undefined,
  world: MetricsWorld,
): Promise<string | undefined> {
  if (caller.kind === "service" && requested === undefined) return undefined;
  const access = await accountAccess(
    caller,
    requested === undefined ? undefined : uuidParam(requested),
    world.memberships,
  );
  requireAdmin(access, "read metrics");
  return uuidParam(access.accountId);
}

/**
 * `?keyId=`: one of the account's gateway keys, whose own series are read
 * (they live inside the account's, so another account's key reads as none).
 */
function gatewayKeyParam(value: string | undefined, accountId: string | undefined) {
  if (value === undefined) return undefined;
  if (accountId === undefined || !isUuid(value)) {
    throw new HttpError(
      400,
      "VALIDATION_ERROR",
      "keyId must be a gateway key's id (GET /keys), read with the account it belongs to",
      { field: "keyId" },
    );
  }
  return value;
}

/** `value` as an account id, or a 400. */
function uuidParam(value: string | undefined): string {
  if (!isUuid(value)) {
    throw new HttpError(400, "VALIDATION_ERROR", "accountId must be a UUID", {
      field: "accountId",
    });
  }
  return value;
}

/** A path segment decoded; malformed percent-encoding is the caller's mistake, a 400. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "VALIDATION_ERROR", "The path is not valid percent-encoding", {
      field: "accountId",
    });
  }
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
  // A model with deployments has one circuit per deployment and none of its own.
  const circuits = world.catalog.all().flatMap((model) =>
    (world.deployments[model.id] ?? [undefined]).map((deployment) => ({
      provider: model.provider,
      model: model.id,
      ...(deployment ? { deployment: deployment.name } : {}),
    }))
  );
  const readings: CircuitReport[] = await Promise.all(
    circuits.map(async (circuit) => ({
      ...circuit,
      state: await world.breakers.state(
        platformCircuitKey(circuit.provider, circuit.model, circuit.deployment),
        world.now(),
      ),
    })),
  );
  return readings.filter((c) => c.state !== "CLOSED" || served.has(`${c.provider}:${c.model}`));
}
