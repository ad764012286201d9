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
import type { RouterRequestContext } from "./context.ts";
import { type JobRunSummary, runDueJobs } from "./job-runner.ts";
import { parseOrThrow } from "./validation.ts";
import { requireDb } from "./world.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";

const runBody = z.strictObject({
  jobId: z.uuid().optional(),
  limit: z.int().min(1).max(100).optional(),
  wait: z.boolean().optional(),
});

function requireJobCaller(context: RouterRequestContext) {
  if (context.caller.kind === "job" || context.caller.kind === "service") return;
  throw new HttpError(403, "FORBIDDEN", "Jobs are run by the job secret or the service role");
}

async function respond(
  context: RouterRequestContext,
  wait: boolean | undefined,
  work: () => Promise<Record<string, unknown>>,
): Promise<Response> {
  if (!wait && context.world.background) {
    context.world.waitUntil(
      work().catch((error) =>
        context.log.error("jobs_failed", {
          detail: errorMessage(error),
        })
      ),
    );
    return jsonResponse({ accepted: true }, 202);
  }
  return jsonResponse(await work());
}

/** `POST /jobs/run`. */
export function runJobs(context: RouterRequestContext): Promise<Response> {
  requireJobCaller(context);
  requireDb(context.world.jobs);
  const body = parseOrThrow(runBody, context.body);
  return respond(context, body.wait, async () => {
    const summary: JobRunSummary = await runDueJobs(context.world, context.routerFor, context.log, {
      worker: `run:${context.requestId}`,
      limit: body.limit ?? context.world.jobBatchSize,
      preferId: body.jobId,
    });
    return { ...summary };
  });
}

/** `POST /jobs/sweep`. */
export function sweepJobs(context: RouterRequestContext): Promise<Response> {
  requireJobCaller(context);
  const jobs = requireDb(context.world.jobs);
  const body = parseOrThrow(runBody.omit({ jobId: true }), context.body);
  return respond(context, body.wait, async () => {
    const released = await jobs.releaseExpired();
    const summary = await runDueJobs(context.world, context.routerFor, context.log, {
      worker: `sweep:${context.requestId}`,
      limit: body.limit ?? context.world.jobBatchSize,
    });
    return { ...released, ...summary };
  });
}
