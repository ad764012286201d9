/**
 * `POST /jobs/run` (woken by the llm_jobs insert trigger through pg_net) and
 * `POST /jobs/sweep` (pg_cron, every minute): claim due jobs and run them.
 * The sweep first makes jobs whose worker died (lease expired) claimable
 * again. Callers: the job secret (`x-job-secret`) or the service role.
 * Where the runtime can keep work alive after answering, they answer 202 at
 * once; `{"wait": true}` runs inline and returns the tally.
 */
import { z } from "zod";
import { HttpError, jsonResponse } from "../_shared/http/errors.ts";
import type { JobQueue } from "../_shared/data/jobs.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import type { Logger } from "../_shared/runtime/log.ts";
import type { WaitUntil } from "../_shared/runtime/background.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";
import type { RequestContext } from "./context.ts";
import type { JobRunner } from "./job-runner.ts";
import { requireDb } from "./needs-database.ts";
import type { Route } from "./routes.ts";

const runBody = z.strictObject({
  jobId: z.uuid().optional(),
  limit: z.int().min(1).max(100).optional(),
  wait: z.boolean().optional(),
});
const sweepBody = runBody.omit({ jobId: true });

/** What the job routes use. */
export interface JobRoutesDeps {
  /** Both absent without a database (the routes answer 503). */
  jobs?: JobQueue;
  runner?: JobRunner;
  /** Jobs one call runs when it names no limit (LLM_JOB_BATCH_SIZE). */
  batchSize: number;
  waitUntil: WaitUntil;
  /** Whether `waitUntil` really outlives the response (else the run is inline). */
  background: boolean;
  log: Logger;
}

/** `POST /jobs/run` and `POST /jobs/sweep`. */
export function jobRoutes(deps: JobRoutesDeps): Route[] {
  return [
    { method: "POST", pattern: "/jobs/run", handler: (r) => runJobs(deps, r), jobs: true },
    { method: "POST", pattern: "/jobs/sweep", handler: (r) => sweepJobs(deps, r), jobs: true },
  ];
}

function requireJobCaller(request: RequestContext) {
  if (request.caller.kind === "job" || request.caller.kind === "service") return;
  throw new HttpError(403, "FORBIDDEN", "Jobs are run by the job secret or the service role");
}

async function respond(
  deps: JobRoutesDeps,
  wait: boolean | undefined,
  work: () => Promise<Record<string, unknown>>,
): Promise<Response> {
  if (!wait && deps.background) {
    deps.waitUntil(
      work().catch((error) => deps.log.error("jobs_failed", { detail: errorMessage(error) })),
    );
    return jsonResponse({ accepted: true }, 202);
  }
  return jsonResponse(await work());
}

/** `POST /jobs/run`. */
function runJobs(deps: JobRoutesDeps, request: RequestContext): Promise<Response> {
  requireJobCaller(request);
  const runner = requireDb(deps.runner);
  const body = parseOrThrow(runBody, request.body);
  return respond(deps, body.wait, async () => ({
    ...await runner.runDue({
      worker: `run:${request.requestId}`,
      limit: body.limit ?? deps.batchSize,
      preferId: body.jobId,
    }),
  }));
}

/** `POST /jobs/sweep`. */
function sweepJobs(deps: JobRoutesDeps, request: RequestContext): Promise<Response> {
  requireJobCaller(request);
  const jobs = requireDb(deps.jobs);
  const runner = requireDb(deps.runner);
  const body = parseOrThrow(sweepBody, request.body);
  return respond(deps, body.wait, async () => {
    const released = await jobs.releaseExpired();
    const summary = await runner.runDue({
      worker: `sweep:${request.requestId}`,
      limit: body.limit ?? deps.batchSize,
    });
    return { ...released, ...summary };
  });
}
