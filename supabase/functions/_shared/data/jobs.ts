/**
 * The job queue in llm_jobs. A worker claims due jobs with
 * `FOR UPDATE SKIP LOCKED` and a lease: two workers woken for the same job
 * never both get it, and a worker that dies leaves it claimable once its
 * lease runs out. Results are written only by the worker that holds the lease.
 */
import type { Db } from "../store/db.ts";

/** A claimed job. */
export interface Job {
  id: string;
  accountId: string | null;
  kind: string;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
}

/** How a failed attempt ends. */
export type FailureOutcome = "retrying" | "failed" | "lost";

interface JobRow extends Record<string, unknown> {
  id: string;
  account_id: string | null;
  kind: string;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
}

/** llm_jobs as a queue. */
export class JobQueue {
  constructor(private readonly db: Db) {}

  /**
   * Claims up to `limit` due jobs for `worker` for `leaseMs`, `preferId`
   * first when it is due, only of `kind` when given. Each claim counts as an
   * attempt.
   */
  async claim(
    worker: string,
    limit: number,
    leaseMs: number,
    preferId?: string,
    kind?: string,
  ): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `with due as (
         select id from llm_jobs
          where status = 'pending' and run_after <= now() and ($5 = '' or kind = $5)
          order by (id::text = $4) desc, run_after, created_at
          limit $1
          for update skip locked
       )
       update llm_jobs j
          set status = 'running', attempts = j.attempts + 1, locked_by = $2,
              lease_until = now() + ($3::text || ' milliseconds')::interval,
              started_at = now(), error = null, error_code = null
         from due
        where j.id = due.id
       returning j.id, j.account_id, j.kind, j.payload, j.attempts, j.max_attempts`,
      [limit, worker, String(leaseMs), preferId ?? "", kind ?? ""],
    );
    return rows.map((row) => ({
      id: row.id,
      accountId: row.account_id,
      kind: row.kind,
      payload: row.payload,
      attempts: row.attempts,
      maxAttempts: row.max_attempts,
    }));
  }

  /** Records success; false when the lease was lost (the job was reclaimed) and nothing was written. */
  async complete(job: Job, worker: string, result: unknown): Promise<boolean> {
    const rows = await this.db.query(
      `update llm_jobs set status = 'succeeded', result = $3::text::jsonb, lease_until = null, finished_at = now()
        where id = $1 and locked_by = $2 and status = 'running' returning id`,
      [job.id, worker, JSON.stringify(result)],
    );
    return rows.length > 0;
  }

  /**
   * Records a failed attempt: back to pending after `retryInMs` when retryable
   * and attempts remain, otherwise failed for good.
   */
  async fail(
    job: Job,
    worker: string,
    error: { message: string; code: string; retryable: boolean },
    retryInMs: number,
  ): Promise<FailureOutcome> {
    const retry = error.retryable && job.attempts < job.maxAttempts;
    const rows = await this.db.query(
      `update llm_jobs set
          status = $3, error = $4, error_code = $5, lease_until = null, locked_by = null,
          run_after = case when $3 = 'pending' then now() + ($6::text || ' milliseconds')::interval else run_after end,
          finished_at = case when $3 = 'failed' then now() else null end
        where id = $1 and locked_by = $2 and status = 'running' returning id`,
      [
        job.id,
        worker,
        retry ? "pending" : "failed",
        error.message.slice(0, 2000),
        error.code,
        String(retryInMs),
      ],
    );
    if (rows.length === 0) return "lost";
    return retry ? "retrying" : "failed";
  }

  /**
   * Makes jobs whose worker died claimable again: running with an expired
   * lease → pending, or failed once they have used every attempt.
   */
  async releaseExpired(): Promise<{ requeued: number; failed: number }> {
    const rows = await this.db.query<{ status: string }>(
      `update llm_jobs set
          status = case when attempts >= max_attempts then 'failed' else 'pending' end,
          error = coalesce(error, 'the worker stopped before finishing (lease expired)'),
          error_code = coalesce(error_code, 'LEASE_EXPIRED'),
          lease_until = null, locked_by = null,
          finished_at = case when attempts >= max_attempts then now() else null end
        where status = 'running' and lease_until < now()
        returning status`,
    );
    return {
      requeued: rows.filter((row) => row.status === "pending").length,
      failed: rows.filter((row) => row.status === "failed").length,
    };
  }
}
