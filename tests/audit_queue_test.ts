/**
 * The audit queue: enqueue never waits, events are written in ordered batches
 * (by size, by timer, at close or shutdown), the queue stays bounded, failed
 * writes are retried without loss; and AuditLog.recordBatch lands a batch in
 * llm_audit_log in one statement.
 */
import assert from "node:assert/strict";
import { type AuditEvent, AuditLog } from "../supabase/functions/_shared/data/audit.ts";
import {
  AuditQueue,
  flushOnShutdown,
  type QueueTimers,
} from "../supabase/functions/_shared/data/audit-queue.ts";
import type { Db, Row } from "../supabase/functions/_shared/store/db.ts";
import { freshDb } from "./helpers/test-db.ts";

const ACCOUNT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const USER = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

/** Timers that fire only when the test says so. */
function manualTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const timers: QueueTimers = {
    set(fn, ms) {
      pending.set(next, { fn, ms });
      return next++;
    },
    clear(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    pending,
    /** Fires every pending timer, as if its delay had passed. */
    fire() {
      const due = [...pending.values()];
      pending.clear();
      for (const timer of due) timer.fn();
    },
  };
}

/** A write that records its batches; each resolves or rejects when the test settles it. */
function controlledWrite() {
  const batches: AuditEvent[][] = [];
  const settlers: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const write = (events: AuditEvent[]) => {
    batches.push(events);
    return new Promise<void>((resolve, reject) => settlers.push({ resolve, reject }));
  };
  return { write, batches, settlers };
}

/** A write that succeeds at once, or fails while `failing` is set. */
function memoryWrite() {
  const batches: AuditEvent[][] = [];
  const state = { failing: false };
  const write = (events: AuditEvent[]) => {
    if (state.failing) return Promise.reject(new Error("database unavailable"));
    batches.push(events);
    return Promise.resolve();
  };
  return { write, batches, state };
}

const event = (n: number): AuditEvent => ({ action: `test.${n}`, at: 1_700_000_000_000 + n });
const actions = (batches: AuditEvent[][]) => batches.flat().map((e) => e.action);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Lets pending promise work run until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; !done(); turn++) {
    assert.ok(turn < 100, "condition never held");
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("audit queue: enqueue returns synchronously even when the write never resolves", () => {
  const clock = manualTimers();
  const batches: AuditEvent[][] = [];
  const queue = new AuditQueue((events) => {
    batches.push(events);
    return new Promise<void>(() => {});
  }, { batchSize: 2, timers: clock.timers });

  const results = range(5).map((n) => queue.enqueue(event(n)));

  assert.deepEqual(results, [true, true, true, true, true]);
  assert.equal(batches.length, 1, "the first full batch is being written");
  assert.deepEqual(actions(batches), ["test.0", "test.1"]);
  assert.deepEqual(queue.stats(), {
    queued: 3,
    written: 0,
    dropped: 0,
    failedWrites: 0,
    repaired: 0,
    setAside: 0,
    inFlight: true,
  });
});

Deno.test("audit queue: exactly 100 events start one write of 100 without waiting for the timer", async () => {
  const clock = manualTimers();
  const { write, batches } = memoryWrite();
  const queue = new AuditQueue(write, { timers: clock.timers });

  for (const n of range(99)) queue.enqueue(event(n));
  assert.equal(batches.length, 0);
  queue.enqueue(event(99));
  assert.equal(batches.length, 1);
  assert.equal(batches[0].length, 100);
  assert.deepEqual(actions(batches), range(100).map((n) => `test.${n}`));

  await queue.flush();
  assert.equal(clock.pending.size, 0, "nothing left to flush, so no timer");
  assert.deepEqual(queue.stats(), {
    queued: 0,
    written: 100,
    dropped: 0,
    failedWrites: 0,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });
});

Deno.test("audit queue: a partial batch is written when the timer fires, and not before", async () => {
  const clock = manualTimers();
  const { write, batches } = memoryWrite();
  const queue = new AuditQueue(write, { timers: clock.timers });

  for (const n of range(3)) queue.enqueue(event(n));
  assert.equal(clock.pending.size, 1, "one timer however many events");
  assert.equal([...clock.pending.values()][0].ms, 5000);
  await Promise.resolve();
  assert.equal(batches.length, 0);

  clock.fire();
  await queue.flush();
  assert.deepEqual(actions(batches), ["test.0", "test.1", "test.2"]);
  assert.equal(batches.length, 1);
  assert.equal(queue.stats().written, 3);
  assert.equal(clock.pending.size, 0);
});

Deno.test("audit queue: enqueue stamps a missing time and keeps a given one", async () => {
  const clock = manualTimers();
  const { write, batches } = memoryWrite();
  const queue = new AuditQueue(write, { timers: clock.timers });

  const before = Date.now();
  queue.enqueue({ action: "unstamped" });
  const after = Date.now();
  queue.enqueue({ action: "stamped", at: 42 });
  await queue.close();

  const [unstamped, stamped] = batches.flat();
  assert.ok(unstamped.at! >= before && unstamped.at! <= after, String(unstamped.at));
  assert.equal(stamped.at, 42);
});

Deno.test("audit queue: beyond a capacity of 1000, events are dropped and counted", async () => {
  const clock = manualTimers();
  const { write, batches } = memoryWrite();
  // A batch larger than the capacity, so nothing is written while the queue fills.
  const queue = new AuditQueue(write, { batchSize: 5000, timers: clock.timers });

  const results = range(1200).map((n) => queue.enqueue(event(n)));

  assert.equal(results.filter((r) => r).length, 1000);
  assert.deepEqual(results.slice(1000), Array(200).fill(false));
  assert.deepEqual(queue.stats(), {
    queued: 1000,
    written: 0,
    dropped: 200,
    failedWrites: 0,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });

  await queue.close();
  assert.deepEqual(actions(batches), range(1000).map((n) => `test.${n}`));
  assert.equal(queue.stats().written, 1000);
  assert.equal(queue.stats().dropped, 200);
});

Deno.test("audit queue: a failed write is retried on the next flush, in order, losing nothing", async () => {
  const clock = manualTimers();
  const { write, batches, state } = memoryWrite();
  const errors: [string, number][] = [];
  const queue = new AuditQueue(write, {
    batchSize: 2,
    timers: clock.timers,
    onWriteError: (error, events) => errors.push([(error as Error).message, events]),
  });

  state.failing = true;
  for (const n of range(5)) queue.enqueue(event(n));
  await assert.doesNotReject(queue.flush());

  assert.deepEqual(errors, [["database unavailable", 2]]);
  assert.equal(batches.length, 0);
  assert.deepEqual(queue.stats(), {
    queued: 5,
    written: 0,
    dropped: 0,
    failedWrites: 1,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });
  assert.equal(clock.pending.size, 1, "the timer will try again");

  state.failing = false;
  clock.fire();
  await queue.flush();

  assert.deepEqual(batches.map((b) => b.length), [2, 2, 1]);
  assert.deepEqual(actions(batches), range(5).map((n) => `test.${n}`));
  assert.deepEqual(queue.stats(), {
    queued: 0,
    written: 5,
    dropped: 0,
    failedWrites: 1,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });
  assert.equal(clock.pending.size, 0);
});

Deno.test("audit queue: a failed batch that no longer fits drops the newest events, counted", async () => {
  const clock = manualTimers();
  const { write, batches, settlers } = controlledWrite();
  const queue = new AuditQueue(write, { batchSize: 2, capacity: 3, timers: clock.timers });

  queue.enqueue(event(0));
  queue.enqueue(event(1)); // write of [0, 1] in flight
  assert.deepEqual([2, 3, 4, 5].map((n) => queue.enqueue(event(n))), [true, true, true, false]);

  settlers[0].reject(new Error("timeout"));
  await queue.flush();

  // [0, 1] back in front of [2, 3, 4]; the capacity keeps the oldest three.
  assert.deepEqual(queue.stats(), {
    queued: 3,
    written: 0,
    dropped: 3,
    failedWrites: 1,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });

  const done = queue.close();
  await until(() => batches.length === 2);
  settlers[1].resolve();
  await until(() => batches.length === 3);
  settlers[2].resolve();
  await done;
  assert.deepEqual(batches.slice(1).map((b) => b.length), [2, 1]);
  assert.deepEqual(actions(batches.slice(1)), ["test.0", "test.1", "test.2"]);
});

Deno.test("audit queue: concurrent flushes share one write at a time and never write an event twice", async () => {
  const clock = manualTimers();
  const { write, batches, settlers } = controlledWrite();
  const queue = new AuditQueue(write, { timers: clock.timers });

  for (const n of range(3)) queue.enqueue(event(n));
  const first = queue.flush();
  const second = queue.flush();
  assert.equal(batches.length, 1, "one write in flight");
  assert.equal(queue.stats().inFlight, true);

  // Queued during the write: the running flush picks them up after it.
  queue.enqueue(event(3));
  queue.enqueue(event(4));
  const third = queue.flush();
  assert.equal(batches.length, 1);

  settlers[0].resolve();
  await until(() => batches.length === 2);
  assert.equal(queue.stats().inFlight, true);
  settlers[1].resolve();
  await Promise.all([first, second, third]);

  assert.deepEqual(actions(batches), range(5).map((n) => `test.${n}`));
  assert.deepEqual(queue.stats(), {
    queued: 0,
    written: 5,
    dropped: 0,
    failedWrites: 0,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });
  assert.equal(clock.pending.size, 0);
});

Deno.test("audit queue: close() writes what is queued and clears the timer", async () => {
  const clock = manualTimers();
  const { write, batches } = memoryWrite();
  const queue = new AuditQueue(write, { batchSize: 2, timers: clock.timers });

  for (const n of range(3)) queue.enqueue(event(n)); // one batch of 2 written, 1 waiting
  assert.equal(clock.pending.size, 1);
  await queue.close();

  assert.deepEqual(actions(batches), ["test.0", "test.1", "test.2"]);
  assert.equal(clock.pending.size, 0);
  assert.deepEqual(queue.stats(), {
    queued: 0,
    written: 3,
    dropped: 0,
    failedWrites: 0,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });
});

Deno.test("audit queue: close() leaves no timer behind when its last write fails", async () => {
  const clock = manualTimers();
  const { write, state } = memoryWrite();
  const queue = new AuditQueue(write, { timers: clock.timers });

  queue.enqueue(event(0));
  state.failing = true;
  await queue.close();

  assert.equal(clock.pending.size, 0);
  assert.deepEqual(queue.stats(), {
    queued: 1,
    written: 0,
    dropped: 0,
    failedWrites: 1,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });
});

Deno.test("audit queue: the default timers flush a partial batch after flushIntervalMs", async () => {
  const written = Promise.withResolvers<AuditEvent[]>();
  const queue = new AuditQueue((events) => {
    written.resolve(events);
    return Promise.resolve();
  }, { flushIntervalMs: 5 });
  // The queue's own timer is unref'd: without a referenced one the test would end before it fires.
  let keepAlive: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    keepAlive = setTimeout(() => reject(new Error("no flush within 5 s")), 5000);
  });
  try {
    queue.enqueue(event(0));
    const events = await Promise.race([written.promise, deadline]);
    assert.deepEqual(events.map((e) => e.action), ["test.0"]);
  } finally {
    clearTimeout(keepAlive);
    await queue.close();
  }
});

Deno.test("audit queue: an idle queue's default timer does not keep a process alive", async () => {
  const module = new URL("../supabase/functions/_shared/data/audit-queue.ts", import.meta.url).href;
  const script = `
    import { AuditQueue } from ${JSON.stringify(module)};
    const queue = new AuditQueue(async () => console.log("written"), { flushIntervalMs: 600000 });
    queue.enqueue({ action: "waiting" });
    console.log("queued", queue.stats().queued);
  `;
  const abort = new AbortController();
  const watchdog = setTimeout(() => abort.abort(), 30_000);
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(new TextDecoder().decode(output.stdout), "queued 1\n");
  } finally {
    clearTimeout(watchdog);
  }
});

Deno.test("audit queue: flushOnShutdown closes the queue on beforeunload and hands it to waitUntil", async () => {
  const clock = manualTimers();
  const { write, batches } = memoryWrite();
  const queue = new AuditQueue(write, { timers: clock.timers });
  const target = new EventTarget();
  const waited: Promise<unknown>[] = [];
  const global = globalThis as { EdgeRuntime?: unknown };
  const previous = global.EdgeRuntime;
  global.EdgeRuntime = { waitUntil: (promise: Promise<unknown>) => waited.push(promise) };
  try {
    flushOnShutdown(queue, target);
    queue.enqueue(event(0));
    queue.enqueue(event(1));

    target.dispatchEvent(new Event("beforeunload"));

    assert.equal(waited.length, 1);
    await waited[0];
    assert.deepEqual(actions(batches), ["test.0", "test.1"]);
    assert.equal(clock.pending.size, 0);
  } finally {
    global.EdgeRuntime = previous;
  }
});

Deno.test("audit queue: flushOnShutdown works without EdgeRuntime, and its remover detaches it", async () => {
  const clock = manualTimers();
  const { write, batches } = memoryWrite();
  const queue = new AuditQueue(write, { timers: clock.timers });

  const kept = new EventTarget();
  flushOnShutdown(queue, kept);
  queue.enqueue(event(0));
  kept.dispatchEvent(new Event("beforeunload"));
  await queue.flush(); // shares the write the listener started
  assert.deepEqual(actions(batches), ["test.0"]);

  const removed = new EventTarget();
  const remove = flushOnShutdown(queue, removed);
  remove();
  queue.enqueue(event(1));
  removed.dispatchEvent(new Event("beforeunload"));
  await Promise.resolve();
  assert.deepEqual(actions(batches), ["test.0"], "a removed listener does not flush");
  assert.equal(clock.pending.size, 1, "the event still waits for its timer");

  await queue.close();
  assert.deepEqual(actions(batches), ["test.0", "test.1"]);
});

Deno.test("audit log: recordBatch of 250 events through the queue lands every row with its columns", async () => {
  const database = await freshDb();
  try {
    const audit = new AuditLog(database.db);
    const writes: number[] = [];
    const queue = new AuditQueue((events) => {
      writes.push(events.length);
      return audit.recordBatch(events);
    }, { batchSize: 100 });
    const base = Date.parse("2026-01-02T03:04:05.000Z");
    for (const n of range(250)) {
      queue.enqueue({
        accountId: n % 2 === 0 ? ACCOUNT : "not-a-uuid",
        actorUserId: n % 3 === 0 ? USER : "service:cron",
        actorRole: "admin",
        action: "provider_key.put",
        target: `provider:p${n}`,
        provider: "openai",
        model: "gpt-4o-mini",
        outcome: "ok",
        requestId: `req-${n}`,
        details: n === 0 ? undefined : { n, even: n % 2 === 0, note: "x", none: null },
        at: base + n * 1001,
      });
    }
    await queue.close();

    assert.deepEqual(writes, [100, 100, 50]);
    assert.deepEqual(queue.stats().written, 250);
    const rows = await database.db.query<{
      account_id: string | null;
      actor_user_id: string | null;
      actor_role: string;
      action: string;
      target: string;
      provider: string;
      model: string;
      outcome: string;
      request_id: string;
      details: Record<string, unknown>;
      details_type: string;
      at_ms: string;
    }>(
      `select account_id, actor_user_id, actor_role, action, target, provider, model, outcome, request_id,
              details, jsonb_typeof(details) as details_type,
              (extract(epoch from created_at) * 1000)::bigint::text as at_ms
       from llm_audit_log order by id`,
    );
    assert.equal(rows.length, 250);
    assert.deepEqual(rows.map((r) => r.target), range(250).map((n) => `provider:p${n}`));
    for (const [n, row] of rows.entries()) {
      assert.equal(row.account_id, n % 2 === 0 ? ACCOUNT : null, `account of ${n}`);
      assert.equal(row.actor_user_id, n % 3 === 0 ? USER : null, `actor of ${n}`);
      assert.equal(Number(row.at_ms), base + n * 1001, `created_at of ${n}`);
      assert.equal(row.details_type, "object", `details of ${n} is a JSON object`);
    }
    assert.deepEqual(rows[0].details, {});
    assert.deepEqual(rows[7], {
      account_id: null,
      actor_user_id: null,
      actor_role: "admin",
      action: "provider_key.put",
      target: "provider:p7",
      provider: "openai",
      model: "gpt-4o-mini",
      outcome: "ok",
      request_id: "req-7",
      details: { n: 7, even: false, note: "x", none: null },
      details_type: "object",
      at_ms: String(base + 7 * 1001),
    });
  } finally {
    await database.close();
  }
});

Deno.test("audit log: record and recordBatch without a time use the database's now(); missing fields are null", async () => {
  const database = await freshDb();
  try {
    const audit = new AuditLog(database.db);
    await audit.record({ accountId: ACCOUNT, action: "agent_preferences.delete" });
    await audit.recordBatch([{ action: "bare" }]);

    const rows = await database.db.query<{
      account_id: string | null;
      action: string;
      target: string | null;
      details: unknown;
      recent: boolean;
    }>(
      `select account_id, action, target, details,
              created_at > now() - interval '1 minute' and created_at <= now() as recent
       from llm_audit_log order by id`,
    );
    assert.deepEqual(rows, [
      {
        account_id: ACCOUNT,
        action: "agent_preferences.delete",
        target: null,
        details: {},
        recent: true,
      },
      { account_id: null, action: "bare", target: null, details: {}, recent: true },
    ]);
  } finally {
    await database.close();
  }
});

Deno.test("audit log: an empty batch sends no statement and writes nothing", async () => {
  const database = await freshDb();
  try {
    const statements: string[] = [];
    const counting: Db = {
      ...database.db,
      query: <T extends Row>(sql: string, params?: readonly unknown[]) => {
        statements.push(sql);
        return database.db.query<T>(sql, params);
      },
    };
    await new AuditLog(counting).recordBatch([]);

    assert.deepEqual(statements, []);
    const rows = await database.db.query("select 1 from llm_audit_log");
    assert.equal(rows.length, 0);
  } finally {
    await database.close();
  }
});
