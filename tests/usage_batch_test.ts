/** llm_usage rows written in batches: one statement per batch, every column, each row's own time. */
import assert from "node:assert/strict";
import { type UsageRecord, UsageRecorder } from "../supabase/functions/_shared/data/usage.ts";
import { BatchQueue } from "../supabase/functions/_shared/data/batch-queue.ts";
import type { Db } from "../supabase/functions/_shared/store/db.ts";
import { freshDb } from "./helpers/test-db.ts";

const ACCOUNT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

const row = (i: number): UsageRecord => ({
  accountId: i % 2 === 0 ? ACCOUNT : "not-a-uuid",
  agentId: `agent-${i}`,
  useCase: "general",
  provider: "openai",
  model: "gpt-4o-mini",
  inputTokens: i,
  outputTokens: 2 * i,
  cachedInputTokens: 1,
  cacheWriteTokens: 0,
  costUsd: i / 1_000_000,
  latencyMs: 12.6,
  status: i % 5 === 0 ? "error" : "ok",
  errorCode: i % 5 === 0 ? "TIMEOUT" : undefined,
  requestId: `req-${i}`,
  streamed: i % 3 === 0,
  attempts: 1,
  fallbackIndex: 0,
  cached: i % 7 === 0,
  at: Date.parse("2026-11-21T10:00:00.000Z") + i,
});

Deno.test("usage batches: 250 rows through the queue land as three statements, every column intact", async () => {
  const database = await freshDb();
  try {
    const statements: string[] = [];
    const counting: Db = {
      ...database.db,
      query: (sql, params) => {
        statements.push(sql);
        return database.db.query(sql, params);
      },
    };
    const recorder = new UsageRecorder(counting);
    const queue = new BatchQueue<UsageRecord>((rows) => recorder.recordBatch(rows), {
      batchSize: 100,
      timers: { set: () => 1, clear: () => {} },
    });
    for (let i = 1; i <= 250; i++) queue.enqueue(row(i));
    await queue.close();
    assert.equal(statements.length, 3);
    const rows = await database.db.query<{
      account_id: string | null;
      agent_id: string;
      input_tokens: number;
      output_tokens: number;
      cost: number;
      latency_ms: number;
      status: string;
      error_code: string | null;
      streamed: boolean;
      cached: boolean;
      created_at: Date | string;
    }>(
      `select account_id, agent_id, input_tokens, output_tokens, cost_usd::float8 as cost, latency_ms, status,
              error_code, streamed, cached, created_at from llm_usage order by id`,
    );
    assert.equal(rows.length, 250);
    const tenth = rows[9];
    assert.equal(tenth.account_id, ACCOUNT);
    assert.equal(rows[10].account_id, null, "a non-UUID account is stored as null");
    assert.equal(tenth.agent_id, "agent-10");
    assert.equal(tenth.output_tokens, 20);
    assert.ok(Math.abs(tenth.cost - 0.00001) < 1e-12);
    assert.equal(tenth.latency_ms, 13);
    assert.equal(tenth.status, "error");
    assert.equal(tenth.error_code, "TIMEOUT");
    assert.equal(rows[6].cached, true);
    assert.equal(rows[2].streamed, true);
    assert.equal(new Date(tenth.created_at).toISOString(), "2026-11-21T10:00:00.010Z");
    assert.deepEqual(rows.map((r) => r.input_tokens), rows.map((_, i) => i + 1), "in order");
  } finally {
    await database.close();
  }
});

Deno.test("usage batches: an empty batch sends nothing", async () => {
  let calls = 0;
  const recorder = new UsageRecorder(
    { query: () => (calls++, Promise.resolve([])) } as unknown as Db,
  );
  await recorder.recordBatch([]);
  assert.equal(calls, 0);
});

Deno.test("usage batches: a row with an impossible time is written with the database's time instead of failing its batch", async () => {
  const database = await freshDb();
  try {
    const recorder = new UsageRecorder(database.db);
    await recorder.recordBatch([row(1), { ...row(2), at: Number.NaN }, row(3)]);
    const rows = await database.db.query<{ input_tokens: number; created_at: Date | string }>(
      "select input_tokens, created_at from llm_usage order by id",
    );
    assert.deepEqual(rows.map((r) => r.input_tokens), [1, 2, 3]);
    assert.equal(new Date(rows[0].created_at).toISOString(), "2026-11-21T10:00:00.001Z");
    const stamped = new Date(rows[1].created_at).getTime();
    assert.ok(Math.abs(stamped - Date.now()) < 60_000, "the database's now(), not the lost time");
  } finally {
    await database.close();
  }
});
