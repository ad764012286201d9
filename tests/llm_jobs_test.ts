/**
 * Database-triggered background jobs: rows in llm_jobs run through the router
 * via /jobs/run and /jobs/sweep, exactly once across concurrent workers,
 * retried with backoff when retryable, and picked up again when a wake-up is
 * lost or a worker dies.
 */
import assert from "node:assert/strict";
import { JobQueue } from "../supabase/functions/_shared/data/jobs.ts";
import { faultyModel, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";

const SECRET = "job-secret-for-tests-0123456789";
const ACCOUNT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

async function jobsWorld(env: Record<string, string> = {}) {
  const database = await freshDb();
  const world = await routerHttpWorld({ LLM_JOB_SECRET: SECRET, ...env }, { db: database.db });
  const post = async (
    path: string,
    body: unknown,
    headers: Record<string, string> = { "x-job-secret": SECRET },
  ) => {
    const response = await fetch(`${world.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };
  const enqueue = async (payload: Record<string, unknown>, extra = "") => {
    const rows = await database.db.query<{ id: string }>(
      `insert into llm_jobs (account_id, payload ${
        extra ? ", max_attempts" : ""
      }) values ($1, $2::text::jsonb ${extra ? `, ${extra}` : ""}) returning id`,
      [ACCOUNT, JSON.stringify(payload)],
    );
    return rows[0].id;
  };
  const job = async (id: string) =>
    (await database.db.query<Record<string, unknown>>("select * from llm_jobs where id = $1", [
      id,
    ]))[0];
  return {
    world,
    db: database.db,
    post,
    enqueue,
    job,
    async close() {
      await world.settle();
      await world.close();
      await database.close();
    },
  };
}

Deno.test("jobs: /jobs/run claims due jobs, runs them through the router, stores results and usage", async () => {
  const t = await jobsWorld();
  try {
    const ids = [
      await t.enqueue({ prompt: "first job" }),
      await t.enqueue({ prompt: "second job", useCase: "complex" }),
      await t.enqueue({
        messages: [{ role: "user", content: "third job" }],
        modelOverride: "claude-haiku-4-5",
      }),
    ];
    const run = await t.post("/jobs/run", { wait: true });
    assert.equal(run.status, 200);
    assert.deepEqual(run.json, { claimed: 3, succeeded: 3, retrying: 0, failed: 0, lost: 0 });
    for (const id of ids) {
      const row = await t.job(id);
      assert.equal(row.status, "succeeded");
      assert.equal(row.attempts, 1);
      assert.match(
        (row.result as { text: string }).text,
        /^Mock reply to: (first|second|third) job/,
      );
    }
    assert.equal(((await t.job(ids[1])).result as { model: string }).model, "claude-sonnet-4-6");
    await t.world.settle();
    const usage = await t.db.query<{ request_id: string; account_id: string }>(
      "select request_id, account_id from llm_usage order by id",
    );
    assert.deepEqual(usage.map((u) => u.request_id).sort(), ids.map((id) => `job:${id}`).sort());
    assert.ok(usage.every((u) => u.account_id === ACCOUNT));
    assert.deepEqual((await t.post("/jobs/run", { wait: true })).json.claimed, 0);
  } finally {
    await t.close();
  }
});

Deno.test("jobs: the example trigger turns an inserted document into a job whose result lands on the row", async () => {
  const t = await jobsWorld();
  try {
    const doc = await t.db.query<{ id: string; summary_job_id: string }>(
      "insert into llm_example_documents (account_id, title, body) values ($1, 'Quarterly report', 'Revenue grew.') returning id, summary_job_id",
      [ACCOUNT],
    );
    const linked = await t.db.query<{ summary_job_id: string }>(
      "select summary_job_id from llm_example_documents where id = $1",
      [doc[0].id],
    );
    assert.ok(linked[0].summary_job_id, "the insert queued a job");
    await t.post("/jobs/run", { wait: true, jobId: linked[0].summary_job_id });
    const after = await t.db.query<{ summary: string }>(
      "select summary from llm_example_documents where id = $1",
      [doc[0].id],
    );
    assert.match(after[0].summary, /^Mock reply to: Quarterly report/);
  } finally {
    await t.close();
  }
});

Deno.test("jobs: a retryable failure goes back to pending with backoff; the last attempt fails for good", async () => {
  const failing = faultyModel("gpt-4o-mini", "status=500");
  const t = await jobsWorld({
    LLM_MODELS: JSON.stringify([failing]),
    LLM_OVERRIDE_FALLBACK: "false",
    LLM_MAX_RETRIES: "0",
  });
  try {
    const id = await t.enqueue({ prompt: "x", modelOverride: failing.id }, "2");
    assert.equal((await t.post("/jobs/run", { wait: true })).json.retrying, 1);
    let row = await t.job(id);
    assert.equal(row.status, "pending");
    assert.equal(row.attempts, 1);
    assert.equal(row.error_code, "PROVIDER_ERROR");
    assert.ok(
      new Date(row.run_after as string).getTime() > Date.now() + 4_000,
      "retried later, not at once",
    );
    // Not due yet: nothing to claim.
    assert.equal((await t.post("/jobs/run", { wait: true })).json.claimed, 0);
    await t.db.query("update llm_jobs set run_after = now() where id = $1", [id]);
    assert.equal((await t.post("/jobs/run", { wait: true })).json.failed, 1);
    row = await t.job(id);
    assert.equal(row.status, "failed");
    assert.equal(row.attempts, 2);
    assert.ok(row.finished_at);
  } finally {
    await t.close();
  }
});

Deno.test("jobs: an invalid payload fails at once, without a provider call or a retry", async () => {
  const t = await jobsWorld();
  try {
    const id = await t.enqueue({ prompt: 42 });
    assert.equal((await t.post("/jobs/run", { wait: true })).json.failed, 1);
    const row = await t.job(id);
    assert.equal(row.status, "failed");
    assert.equal(row.error_code, "VALIDATION_ERROR");
    assert.equal(row.attempts, 1);
    assert.equal(t.world.mock.requests.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("jobs: a payload nested deeper than the door allows fails at once, naming where", async () => {
  const t = await jobsWorld();
  try {
    // Written straight into the table, so it never passed the HTTP body checks.
    let meta: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 100; i++) meta = { nested: meta };
    const id = await t.enqueue({ prompt: "deep", meta });
    assert.equal((await t.post("/jobs/run", { wait: true })).json.failed, 1);
    const row = await t.job(id);
    assert.equal(row.status, "failed");
    assert.equal(row.error_code, "VALIDATION_ERROR");
    assert.match(String(row.error), /meta\.nested/);
    assert.equal(t.world.mock.requests.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("jobs: N workers woken for M jobs run each job exactly once", async () => {
  const t = await jobsWorld();
  try {
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push(await t.enqueue({ prompt: `job ${i}` }));
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => t.post("/jobs/run", { wait: true, limit: 10 })),
    );
    const claimed = runs.reduce((sum, r) => sum + r.json.claimed, 0);
    const succeeded = runs.reduce((sum, r) => sum + r.json.succeeded, 0);
    // Workers that found nothing left simply claim nothing.
    assert.ok(claimed <= 30);
    const leftover = (await t.post("/jobs/run", { wait: true, limit: 100 })).json;
    assert.equal(succeeded + leftover.succeeded, 30);
    const rows = await t.db.query<{ status: string; attempts: number }>(
      "select status, attempts from llm_jobs",
    );
    assert.ok(rows.every((r) => r.status === "succeeded" && r.attempts === 1));
    assert.equal(t.world.mock.requests.length, 30, "one provider call per job");
  } finally {
    await t.close();
  }
});

Deno.test("jobs: the sweep runs jobs whose wake-up was lost and requeues jobs whose worker died", async () => {
  const t = await jobsWorld();
  try {
    const lost = await t.enqueue({ prompt: "nobody woke me" });
    const orphan = await t.enqueue({ prompt: "my worker died" });
    await t.db.query(
      "update llm_jobs set status = 'running', attempts = 1, locked_by = 'dead-worker', lease_until = now() - interval '1 minute' where id = $1",
      [orphan],
    );
    const sweep = await t.post("/jobs/sweep", { wait: true });
    assert.equal(sweep.status, 200);
    assert.equal(sweep.json.requeued, 1);
    assert.equal(sweep.json.succeeded, 2);
    assert.equal((await t.job(lost)).status, "succeeded");
    const row = await t.job(orphan);
    assert.equal(row.status, "succeeded");
    assert.equal(row.attempts, 2);
  } finally {
    await t.close();
  }
});

Deno.test("jobs: a worker whose lease expired cannot overwrite the job another worker took over", async () => {
  const database = await freshDb();
  try {
    const queue = new JobQueue(database.db);
    await database.db.query("insert into llm_jobs (payload) values ('{}'::jsonb)");
    const [slow] = await queue.claim("worker-a", 1, 60_000);
    assert.equal(
      (await queue.claim("worker-b", 1, 60_000)).length,
      0,
      "a claimed job is not claimed twice",
    );
    await database.db.query("update llm_jobs set lease_until = now() - interval '1 second'");
    assert.deepEqual(await queue.releaseExpired(), { requeued: 1, failed: 0 });
    const [fresh] = await queue.claim("worker-b", 1, 60_000);
    assert.equal(fresh.id, slow.id);
    assert.equal(await queue.complete(slow, "worker-a", { text: "late" }), false);
    assert.equal(await queue.complete(fresh, "worker-b", { text: "on time" }), true);
    const rows = await database.db.query<{ result: { text: string } }>(
      "select result from llm_jobs",
    );
    assert.equal(rows[0].result.text, "on time");
    assert.equal(
      await queue.fail(slow, "worker-a", { message: "x", code: "X", retryable: true }, 1_000),
      "lost",
    );
  } finally {
    await database.close();
  }
});

Deno.test("jobs: only the job secret and the service role run jobs", async () => {
  const t = await jobsWorld();
  try {
    assert.equal((await t.post("/jobs/run", { wait: true }, {})).status, 401);
    assert.equal(
      (await t.post("/jobs/run", { wait: true }, { "x-job-secret": "wrong" })).status,
      401,
    );
    const user = await t.post("/jobs/run", { wait: true }, {
      authorization: `Bearer ${t.world.memberToken}`,
    });
    assert.equal(user.status, 403);
    const service = await t.post("/jobs/sweep", { wait: true }, {
      authorization: `Bearer ${SERVICE_KEY}`,
    });
    assert.equal(service.status, 200);
    // The job secret opens only the job endpoints.
    const chat = await t.post("", { prompt: "x" });
    assert.equal(chat.status, 401);
  } finally {
    await t.close();
  }
});

Deno.test("jobs: where the runtime keeps work alive, /jobs/run answers 202 at once and finishes in the background", async () => {
  const t = await jobsWorld();
  try {
    const id = await t.enqueue({ prompt: "in the background" });
    const accepted = await t.post("/jobs/run", {});
    assert.equal(accepted.status, 202);
    await t.world.settle();
    assert.equal((await t.job(id)).status, "succeeded");
  } finally {
    await t.close();
  }
});

Deno.test("jobs: a job spends its account's budget; with the budget spent it fails as PAYMENT_REQUIRED without a call", async () => {
  const t = await jobsWorld();
  try {
    await t.db.query(
      "insert into llm_budgets (account_id, daily_limit_usd) values ($1, 0.0000001)",
      [ACCOUNT],
    );
    const first = await t.enqueue({ prompt: "spends the budget" });
    assert.equal((await t.post("/jobs/run", { wait: true })).json.succeeded, 1);
    assert.equal((await t.job(first)).status, "succeeded");
    await t.world.settle();
    const calls = t.world.mock.requests.length;
    const second = await t.enqueue({ prompt: "over budget" });
    const run = await t.post("/jobs/run", { wait: true });
    assert.equal(run.json.failed, 1);
    const row = await t.job(second);
    assert.equal(row.status, "failed");
    assert.equal(row.error_code, "PAYMENT_REQUIRED");
    assert.equal(t.world.mock.requests.length, calls);
  } finally {
    await t.close();
  }
});
