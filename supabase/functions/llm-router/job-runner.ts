/**
 * Running queued jobs: each claimed job's payload is a native-API request,
 * served through the router (not streamed; fallbacks and a tool loop allowed)
 * with the account's own keys; the result or the error is written back, a
 * retryable failure is retried later with backoff, and usage is recorded.
 */
import type { Job } from "../_shared/data/jobs.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import { HttpError } from "../_shared/http/errors.ts";
import { answerBody } from "./answer-body.ts";
import { RequestReporter } from "./request-report.ts";
import { fromNativeBody } from "./route-requests.ts";
import { nativeChatBody } from "./schemas.ts";
import { checkRequestJson } from "../_shared/http/request-text.ts";
import { parseOrThrow } from "./validation.ts";
import type { Logger } from "../_shared/runtime/log.ts";
import type { RouterWorld } from "./world.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";

/** How a run went. */
export interface JobRunSummary {
  claimed: number;
  succeeded: number;
  retrying: number;
  failed: number;
  /** Results discarded because the lease expired and another worker took the job. */
  lost: number;
}

/** Claims up to `limit` due jobs (`preferId` first) and runs them. */
export async function runDueJobs(
  world: RouterWorld,
  routerFor: (accountId: string | undefined) => Promise<LLMRouter>,
  log: Logger,
  options: { worker: string; limit: number; preferId?: string; random?: () => number },
): Promise<JobRunSummary> {
  const queue = world.jobs!;
  const jobs = await queue.claim(options.worker, options.limit, world.jobLeaseMs, options.preferId);
  const summary: JobRunSummary = {
    claimed: jobs.length,
    succeeded: 0,
    retrying: 0,
    failed: 0,
    lost: 0,
  };
  const outcomes = await Promise.all(
    jobs.map((job) => runJob(world, routerFor, log, job, options)),
  );
  for (const outcome of outcomes) summary[outcome]++;
  return summary;
}

async function runJob(
  world: RouterWorld,
  routerFor: (accountId: string | undefined) => Promise<LLMRouter>,
  log: Logger,
  job: Job,
  options: { worker: string; random?: () => number },
): Promise<"succeeded" | "retrying" | "failed" | "lost"> {
  const queue = world.jobs!;
  const started = performance.now();
  const reporter = new RequestReporter({
    log,
    usage: world.usage,
    audit: world.auditQueue,
    metrics: world.metrics,
    waitUntil: world.waitUntil,
  }, {
    requestId: `job:${job.id}`,
    api: "job",
    caller: "job",
    accountId: job.accountId ?? undefined,
    agentId: typeof job.payload.agentId === "string" ? job.payload.agentId : undefined,
    useCase: typeof job.payload.useCase === "string" ? job.payload.useCase : undefined,
  }, started);
  // The job must finish inside its lease, or another worker may take it over.
  const signal = AbortSignal.timeout(Math.max(1_000, world.jobLeaseMs - 5_000));
  try {
    // A payload written straight into llm_jobs never passed the HTTP door: check it as the door would.
    checkRequestJson(job.payload);
    const body = parseOrThrow(nativeChatBody, { ...stripJobFields(job.payload), stream: false });
    const router = await routerFor(job.accountId ?? undefined);
    const routed = fromNativeBody(body, job.accountId ?? undefined, router.catalog);
    // Jobs spend the account's budget like any request; the runner paces them instead of a rate limit.
    const { gate } = await world.guards.admit(
      { accountId: job.accountId ?? undefined, agentId: body.agentId },
      { rateLimited: false },
    );
    const request = gate ? { ...routed, gate } : routed;
    const answer = body.maxSteps && body.maxSteps > 1
      ? await router.chatWithTools(request, body.maxSteps, signal)
      : await router.chat(request, signal);
    reporter.answered(answer.route, answer.usage, answer.costUsd);
    const stored = await queue.complete(job, options.worker, answerBody(answer));
    return stored ? "succeeded" : "lost";
  } catch (error) {
    const failure = error instanceof LLMError
      ? { message: error.message, code: error.code, retryable: error.retryable }
      : error instanceof HttpError
      ? { message: error.message, code: error.code, retryable: false }
      : {
        message: errorMessage(error),
        code: "INTERNAL",
        retryable: true,
      };
    if (error instanceof LLMError) reporter.failed(error, false);
    log.warn("job_failed", {
      jobId: job.id,
      code: failure.code,
      attempt: job.attempts,
      detail: failure.message,
    });
    const outcome = await queue.fail(
      job,
      options.worker,
      failure,
      retryDelayMs(job.attempts, options.random ?? Math.random),
    );
    return outcome === "retrying" ? "retrying" : outcome;
  }
}

/** Exponential backoff with jitter for job retries: ~10 s, 20 s, 40 s … capped at 15 min. */
export function retryDelayMs(attempt: number, random: () => number): number {
  const base = Math.min(900_000, 10_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/** `meta` carries what a job's own triggers need back (e.g. the row to update); the router ignores it. */
function stripJobFields(payload: Record<string, unknown>): Record<string, unknown> {
  const { meta: _meta, ...rest } = payload;
  return rest;
}
