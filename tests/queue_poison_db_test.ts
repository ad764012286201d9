/**
 * Poisoned rows on a real database (PGlite, or Postgres under `deno task
 * test`), through the queues llm-router builds: a lone surrogate or a NUL is
 * repaired and written, a row the database still refuses is set aside
 * (counted, logged by request id and code, visible in GET /health), and
 * every other row lands. A database that is down loses nothing.
 */
import assert from "node:assert/strict";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { readMetrics } from "../supabase/functions/_shared/metrics/snapshot.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { buildWorld, type RouterWorld } from "../supabase/functions/llm-router/world.ts";
import type { UsageRecord } from "../supabase/functions/_shared/data/usage.ts";
import type { AuditEvent } from "../supabase/functions/_shared/data/audit.ts";
import type { Db } from "../supabase/functions/_shared/store/db.ts";
import { postgresDb } from "../supabase/functions/_shared/store/postgres-db.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";
import { testLogger } from "./helpers/logs.ts";
import { routerHttpWorld } from "./helpers/router-http-world.ts";

const SURROGATE = "bot\ud800x";
const WITH_NUL = "a\u0000b";
/** A value the test database refuses whatever repair does (a check constraint added below). */
const REFUSED = "refused-agent";

/** Makes the test database refuse rows naming REFUSED, as a real constraint violation (23514). */
async function refuseMarkedRows(database: TestDb): Promise<void> {
  await database.db.exec(`
    alter table llm_usage add constraint test_refuses_agent check (agent_id is distinct from '${REFUSED}');
    alter table llm_audit_log add constraint test_refuses_target check (target is distinct from '${REFUSED}');
  `);
}

const usageRow = (i: number, agentId = `agent-${i}`): UsageRecord => ({
  agentId,
  useCase: "general",
  provider: "openai",
  model: "gpt-4o-mini",
  inputTokens: i,
  outputTokens: 1,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  costUsd: i / 1_000_000,
  status: "ok",
  requestId: `req-${i}`,
  streamed: false,
  attempts: 1,
  fallbackIndex: 0,
  at: Date.parse("2026-11-21T10:00:00.000Z") + i,
});

const auditEvent = (i: number, target = `agent-${i}`, note = "x"): AuditEvent => ({
  action: "llm.request",
  target,
  outcome: "ok",
  requestId: `req-${i}`,
  details: { note, i },
  at: Date.parse("2026-11-21T10:00:00.000Z") + i,
});

/** llm-router's world over `db`, its log lines, and its background work. */
async function worldOver(db: Db) {
  const logs: string[] = [];
  const background: Promise<unknown>[] = [];
  const world = await buildWorld({
    env: mapEnv({}),
    log: testLogger("llm-router", logs),
    db,
    waitUntil: (work) => background.push(work.catch(() => {})),
  });
  const settle = async () => {
    while (background.length) await Promise.all(background.splice(0));
  };
  return { world, logs, settle };
}

const parsed = (logs: string[], event: string) =>
  logs.map((line) => JSON.parse(line)).filter((line) => line.event === event);

const usageOf = (world: RouterWorld) => world.records.queues.usage!;
const auditOf = (world: RouterWorld) => world.records.queues.audit!;

Deno.test("poisoned rows on a real database: every other usage row and audit event lands, the poisoned are repaired or set aside", async () => {
  const database = await freshDb();
  try {
    await refuseMarkedRows(database);
    const { world, logs, settle } = await worldOver(database.db);
    const poison: Record<number, string> = { 40: SURROGATE, 120: WITH_NUL, 200: REFUSED };

    for (let i = 0; i < 250; i++) {
      usageOf(world).enqueue(usageRow(i, poison[i]));
      auditOf(world).enqueue(
        i === 120 ? auditEvent(i, undefined, WITH_NUL) : auditEvent(i, poison[i]),
      );
    }
    await settle();
    await world.close();

    const usage = await database.db.query<{ agent_id: string; input_tokens: number; cost: number }>(
      "select agent_id, input_tokens, cost_usd::float8 as cost from llm_usage order by id",
    );
    const written = Array.from({ length: 250 }, (_, i) => i).filter((i) => i !== 200);
    assert.equal(usage.length, 249, "every row but the refused one");
    assert.deepEqual(
      usage.map((row) => row.input_tokens),
      written,
      "in the order they were queued",
    );
    assert.equal(usage[40].agent_id, "bot\ufffdx", "the lone surrogate is replaced");
    assert.equal(usage[120].agent_id, "ab", "the NUL is removed");
    const spend = usage.reduce((sum, row) => sum + row.cost, 0);
    const expected = written.reduce((sum, i) => sum + i / 1_000_000, 0);
    assert.ok(
      Math.abs(spend - expected) < 1e-9,
      `${spend} vs ${expected}: repaired rows keep their spend`,
    );

    const audit = await database.db.query<
      { target: string | null; details: { note: string; i: number } }
    >(
      "select target, details from llm_audit_log order by id",
    );
    assert.equal(audit.length, 249);
    assert.deepEqual(audit.map((row) => row.details.i), written);
    assert.equal(audit[40].target, "bot\ufffdx");
    assert.equal(audit[120].details.note, "ab");

    for (const queue of [usageOf(world), auditOf(world)]) {
      assert.deepEqual(queue.stats(), {
        queued: 0,
        written: 249,
        dropped: 0,
        failedWrites: 0,
        repaired: 2,
        setAside: 1,
        inFlight: false,
      });
    }

    const [usageLine, ...moreUsage] = parsed(logs, "usage_row_set_aside");
    assert.deepEqual(moreUsage, []);
    assert.equal(usageLine.rows, 1);
    assert.equal(usageLine.code, "23514");
    assert.equal(usageLine.requestIds, "req-200");
    const [auditLine, ...moreAudit] = parsed(logs, "audit_row_set_aside");
    assert.deepEqual(moreAudit, []);
    assert.deepEqual([auditLine.rows, auditLine.code, auditLine.requestIds], [
      1,
      "23514",
      "req-200",
    ]);
    assert.deepEqual(parsed(logs, "usage_write_failed"), [], "a refusal is not a database failure");
    for (const line of logs) {
      assert.ok(!line.includes(REFUSED), `row content in a log line: ${line}`);
      assert.ok(!line.includes("bot"), `row content in a log line: ${line}`);
    }
  } finally {
    await database.close();
  }
});

Deno.test("database down: usage rows and audit events wait in their queues, unsplit, and land once it is back", async () => {
  const database = await freshDb();
  // A Postgres nobody listens on: the driver's own connection error, as when the database is down.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dead = postgresDb(`postgres://gateway:unused@127.0.0.1:${deadPort}/gateway`, {
    connectTimeoutSeconds: 2,
  });
  const state = { down: true };
  const flaky: Db = {
    ...database.db,
    query: (sql, params) => (state.down ? dead : database.db).query(sql, params),
  };
  try {
    const { world, logs, settle } = await worldOver(flaky);
    for (let i = 0; i < 150; i++) {
      usageOf(world).enqueue(usageRow(i, i === 7 ? SURROGATE : undefined));
    }
    for (let i = 0; i < 30; i++) auditOf(world).enqueue(auditEvent(i));
    await settle();
    await Promise.all([usageOf(world).flush(), auditOf(world).flush()]);

    for (const [queue, queued] of [[usageOf(world), 150], [auditOf(world), 30]] as const) {
      const stats = queue.stats();
      assert.equal(stats.queued, queued, "nothing given up while the database is down");
      assert.equal(stats.written, 0);
      assert.equal(stats.setAside, 0, "no row is blamed for an unreachable database");
      assert.equal(stats.repaired, 0);
      assert.ok(stats.failedWrites >= 1);
    }
    const failure = parsed(logs, "usage_write_failed")[0];
    assert.match(failure.detail, /ECONNREFUSED/);
    assert.equal((await database.db.query("select 1 from llm_usage")).length, 0);

    state.down = false;
    await world.close();

    const usage = await database.db.query<{ input_tokens: number; agent_id: string }>(
      "select input_tokens, agent_id from llm_usage order by id",
    );
    assert.deepEqual(
      usage.map((row) => row.input_tokens),
      Array.from({ length: 150 }, (_, i) => i),
    );
    assert.equal(usage[7].agent_id, "bot\ufffdx");
    assert.equal((await database.db.query("select 1 from llm_audit_log")).length, 30);
    assert.deepEqual(
      [
        usageOf(world).stats().written,
        usageOf(world).stats().repaired,
        usageOf(world).stats().setAside,
      ],
      [150, 1, 0],
    );
    assert.equal(auditOf(world).stats().written, 30);
  } finally {
    await dead.close();
    await database.close();
  }
});

Deno.test("health: GET /health shows the rows a refusing database set aside, and the rest are written", async () => {
  const database = await freshDb();
  try {
    await refuseMarkedRows(database);
    const store = new MemoryStateStore();
    const t = await routerHttpWorld({}, { db: database.db, store });
    try {
      const poisoned = await t.post("", { prompt: "hi", maxTokens: 5, agentId: REFUSED });
      await poisoned.body?.cancel();
      assert.equal(poisoned.status, 200);
      const good = await t.post("", { prompt: "hi", maxTokens: 5, agentId: "good-agent" });
      await good.body?.cancel();
      assert.equal(good.status, 200);
      await t.settle();

      const health = await (await fetch(`${t.url}/health`)).json();
      assert.equal(health.usageQueue.setAside, 1);
      assert.equal(health.usageQueue.written, 1);
      assert.equal(health.usageQueue.queued, 0);
      assert.equal(health.auditQueue.setAside, 1);
      assert.equal(health.auditQueue.written, 1);

      const rows = await database.db.query<{ agent_id: string }>("select agent_id from llm_usage");
      assert.deepEqual(rows.map((row) => row.agent_id), ["good-agent"]);
      const line = parsed(t.logs, "usage_row_set_aside")[0];
      assert.equal(line.requestIds, poisoned.headers.get("x-request-id"));
      assert.equal(line.code, "23514");
      // Counted for llm-metrics too, across isolates: in the store the router flushes to.
      const metrics = await readMetrics(store);
      assert.deepEqual(metrics.queues, { usage: { setAside: 1 }, audit: { setAside: 1 } });
    } finally {
      await t.close();
    }
  } finally {
    await database.close();
  }
});
