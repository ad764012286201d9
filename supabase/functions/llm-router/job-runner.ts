/**
 * Running queued jobs: each claimed job's payload is a native-API request,
 * answered by the chat pipeline like any other entrance (not streamed;
 * fallbacks and a tool loop allowed; the account's own keys and budget),
 * unless a handler runs its kind (alert deliveries). The result or the error
 * is written back, a retryable failure is retried later with backoff.
 */
import type { Job, JobQueue } from "../_shared/data/jobs.ts";
import { nativeChat, nativeRoutedAnswer } from "../_shared/dialects/native-chat.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { HttpError } from "../_shared/http/errors.ts";
import { checkRequestJson } from "../_shared/http/request-text.ts";
import type { Logger } from "../_shared/runtime/log.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";
import type { ChatPipeline } from "./chat-pipeline.ts";

/** How a run went. */
export interface JobRunSummary {
  claimed: number;
  succeeded: number;
  retrying: number;
  failed: number;
  /** Results discarded because the lease expired and another worker took the job. */
  lost: number;
}

/** How a job of another kind than chat ended: its result, or a failure the runner may retry. */
export type JobHandlerOutcome =
  | { ok: true; result: unknown }
  | { ok: false; code: string; message: string; retryable: boolean };

/** Runs the jobs of one kind instead of the chat pipeline (alert deliveries); never throws. */
export type JobHandler = (job: Job, signal: AbortSignal) => Promise<JobHandlerOutcome>;

/** Failure as stored on the job. */
interface JobFailure {
  message: string;
  code: string;
  retryable: boolean;
}

/** What the runner uses. */
export interface JobRunnerDeps {
  jobs: JobQueue;
  pipeline: ChatPipeline;
  /** How long a claimed job is the worker's (LLM_JOB_LEASE_MS). */
  leaseMs: number;
  log: Logger;
  random?: () => number;
  /** Handlers by job kind; any other kind is a native-API request for the chat pipeline. */
  handlers?: ReadonlyMap<string, JobHandler>;
}

/** Claims due jobs and runs them. One per isolate. */
export class JobRunner {
  constructor(private readonly deps: JobRunnerDeps) {}

  /** Claims up to `limit` due jobs (`preferId` first; only of `kind` when given) and runs them. */
  async runDue(
    options: { worker: string; limit: number; preferId?: string; kind?: string },
  ): Promise<JobRunSummary> {
    const { jobs, leaseMs } = this.deps;
    const claimed = await jobs.claim(
      options.worker,
      options.limit,
      leaseMs,
      options.preferId,
      options.kind,
    );
    const summary: JobRunSummary = {
      claimed: claimed.length,
      succeeded: 0,
      retrying: 0,
      failed: 0,
      lost: 0,
    };
    const outcomes = await Promise.all(claimed.map((job) => this.#run(job, options.worker)));
    for (const outcome of outcomes) summary[outcome]++;
    return summary;
  }

  async #run(job: Job, worker: string): Promise<"succeeded" | "retrying" | "failed" | "lost"> {
    const { jobs, pipeline, leaseMs } = this.deps;
    const handler = this.deps.handlers?.get(job.kind);
    if (handler) {
      // Inside the lease, as a chat job, so that no other worker takes it over meanwhile.
      const outcome = await handler(job, AbortSignal.timeout(Math.max(1_000, leaseMs - 5_000)))
        .catch((error): JobHandlerOutcome => ({
          ok: false,
          code: "INTERNAL",
          message: errorMessage(error),
          retryable: true,
        }));
      if (!outcome.ok) return await this.#fail(job, worker, outcome);
      return await jobs.complete(job, worker, outcome.result) ? "succeeded" : "lost";
    }
    try {
      // A payload written straight into llm_jobs never passed the HTTP door: check it as the door would.
      checkRequestJson(job.payload);
      const answer = await pipeline.answerJob(
        nativeChat,
        { ...stripJobFields(job.payload), stream: false },
        {
          requestId: `job:${job.id}`,
          accountId: job.accountId ?? undefined,
          // The job must finish inside its lease, or another worker may take it over.
          signal: AbortSignal.timeout(Math.max(1_000, leaseMs - 5_000)),
        },
      );
      const stored = await jobs.complete(job, worker, nativeRoutedAnswer(answer));
      return stored ? "succeeded" : "lost";
    } catch (error) {
      const failure = error instanceof LLMError
        ? { message: error.message, code: error.code, retryable: error.retryable }
        : error instanceof HttpError
        ? { message: error.message, code: error.code, retryable: false }
        : { message: errorMessage(error), code: "INTERNAL", retryable: true };
      return await this.#fail(job, worker, failure);
    }
  }

  async #fail(
    job: Job,
    worker: string,
    failure: JobFailure,
  ): Promise<"retrying" | "failed" | "lost"> {
    this.deps.log.warn("job_failed", {
      jobId: job.id,
      kind: job.kind,
      code: failure.code,
      attempt: job.attempts,
      detail: failure.message,
    });
    return await this.deps.jobs.fail(
      job,
      worker,
      failure,
      retryDelayMs(job.attempts, this.deps.random ?? Math.random),
    );
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
