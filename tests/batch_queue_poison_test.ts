/**
 * One bad row never blocks a BatchQueue: a batch the database refuses is
 * halved until the good rows are written and the bad row stands alone; that
 * row is repaired and tried once more, or set aside (counted, reported,
 * dropped). A database that cannot be reached keeps every row queued. Also
 * the error classification and the usage/audit repairs the queues use.
 */
import assert from "node:assert/strict";
import {
  BatchQueue,
  type BatchQueueOptions,
} from "../supabase/functions/_shared/data/batch-queue.ts";
import {
  dbErrorCode,
  isRefusedByDatabase,
  sqlState,
} from "../supabase/functions/_shared/store/db-errors.ts";
import { repairUsageRecord, type UsageRecord } from "../supabase/functions/_shared/data/usage.ts";
import { repairAuditEvent } from "../supabase/functions/_shared/data/audit.ts";
import {
  MAX_REPAIRED_TEXT,
  writableText,
} from "../supabase/functions/_shared/data/writable-values.ts";

/** An item; `bad` ones make any write that holds them fail as the database would. */
interface Item {
  n: number;
  bad?: "refused" | "fixable";
}

/** What PGlite and `postgres` throw when the server refuses the data (jsonb rejects `\ud800`). */
const refused = () =>
  Object.assign(new Error("unsupported Unicode escape sequence"), { code: "22P05" });
/** What the `postgres` driver throws when nothing listens. */
const unreachable = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

const noTimers = { set: () => 1, clear: () => {} };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * A database in memory: a write with a bad item is refused whole (as one
 * statement is); `down` makes every write fail as an unreachable server, and
 * `goesDownAtWrite` sets it when that write (counting from 1) begins.
 */
function fakeDatabase() {
  const rows: Item[] = [];
  const writes: number[][] = [];
  const state: { down: boolean; goesDownAtWrite?: number } = { down: false };
  const write = (items: Item[]) => {
    writes.push(items.map((item) => item.n));
    if (writes.length === state.goesDownAtWrite) state.down = true;
    if (state.down) return Promise.reject(unreachable());
    if (items.some((item) => item.bad)) return Promise.reject(refused());
    rows.push(...items);
    return Promise.resolve();
  };
  return { rows, writes, state, write };
}

/** A queue over `db` that records what it reports. */
function queueOver(
  db: ReturnType<typeof fakeDatabase>,
  options: BatchQueueOptions<Item> = {},
) {
  const setAside: { rows: number; code: string; items: number[] }[] = [];
  const writeErrors: { code: string; events: number }[] = [];
  const queue = new BatchQueue<Item>(db.write, {
    batchSize: 10,
    timers: noTimers,
    onSetAside: (rows, error, items) =>
      setAside.push({ rows, code: dbErrorCode(error), items: items.map((item) => item.n) }),
    onWriteError: (error, events) => writeErrors.push({ code: dbErrorCode(error), events }),
    ...options,
  });
  return { queue, setAside, writeErrors };
}

/** Fixes a "fixable" item; leaves a "refused" one as bad as it was. */
const fixFixable = (item: Item): Item => item.bad === "fixable" ? { n: item.n } : item;

Deno.test("poison row: a refused batch is halved until the bad row stands alone; every other row is written, in order", async () => {
  const db = fakeDatabase();
  const { queue, setAside, writeErrors } = queueOver(db);

  for (const n of range(10)) queue.enqueue(n === 6 ? { n, bad: "refused" } : { n });
  await queue.flush();

  assert.deepEqual(db.rows.map((row) => row.n), [0, 1, 2, 3, 4, 5, 7, 8, 9]);
  assert.deepEqual(setAside, [{ rows: 1, code: "22P05", items: [6] }]);
  assert.deepEqual(writeErrors, [], "a refusal is not a database failure");
  assert.deepEqual(queue.stats(), {
    queued: 0,
    written: 9,
    dropped: 0,
    failedWrites: 0,
    repaired: 0,
    setAside: 1,
    inFlight: false,
  });
  // Halving, not row by row: 10 → 5+5 → 3+2 → 1+2 → 1+1.
  assert.ok(db.writes.length <= 9, `${db.writes.length} writes`);
});

Deno.test("poison row: the queue keeps moving after a row is set aside", async () => {
  const db = fakeDatabase();
  const { queue } = queueOver(db);

  queue.enqueue({ n: 0, bad: "refused" });
  queue.enqueue({ n: 1 });
  await queue.flush();
  queue.enqueue({ n: 2 });
  await queue.flush();

  assert.deepEqual(db.rows.map((row) => row.n), [1, 2]);
  assert.equal(queue.stats().queued, 0);
  assert.equal(queue.stats().setAside, 1);
});

Deno.test("poison row: repair fixes a refused row, which is written in its own place", async () => {
  const db = fakeDatabase();
  const repairs: number[] = [];
  const { queue, setAside } = queueOver(db, {
    repair: (item) => (repairs.push(item.n), fixFixable(item)),
  });

  for (const n of range(10)) queue.enqueue(n === 3 ? { n, bad: "fixable" } : { n });
  await queue.flush();

  assert.deepEqual(db.rows, range(10).map((n) => ({ n })));
  assert.deepEqual(repairs, [3], "only the row refused alone is repaired");
  assert.deepEqual(setAside, []);
  assert.equal(queue.stats().repaired, 1);
  assert.equal(queue.stats().written, 10);
  assert.equal(queue.stats().setAside, 0);
});

Deno.test("poison row: a row still refused after repair, or one repair gives up on or throws on, is set aside", async () => {
  const db = fakeDatabase();
  const { queue, setAside } = queueOver(db, {
    repair: (item) => {
      if (item.n === 1) return undefined;
      if (item.n === 2) throw new Error("repair broke");
      return fixFixable(item);
    },
  });

  queue.enqueue({ n: 0, bad: "refused" }); // repaired, still refused
  queue.enqueue({ n: 1, bad: "fixable" }); // repair says no
  queue.enqueue({ n: 2, bad: "fixable" }); // repair throws
  queue.enqueue({ n: 3 });
  await assert.doesNotReject(queue.flush());

  assert.deepEqual(db.rows.map((row) => row.n), [3]);
  assert.deepEqual(setAside.map((s) => s.items), [[0], [1], [2]]);
  assert.deepEqual(setAside.map((s) => s.code), ["22P05", "22P05", "22P05"]);
  assert.equal(queue.stats().setAside, 3);
  assert.equal(queue.stats().repaired, 0);
});

Deno.test("poison row: many bad rows among many good ones cost only themselves", async () => {
  const db = fakeDatabase();
  const { queue } = queueOver(db, { batchSize: 100, capacity: 1000, repair: fixFixable });
  const bad = (n: number) => n % 7 === 0 ? "refused" : n % 11 === 0 ? "fixable" : undefined;

  for (const n of range(300)) queue.enqueue({ n, bad: bad(n) });
  await queue.flush();

  const expected = range(300).filter((n) => bad(n) !== "refused");
  assert.deepEqual(db.rows.map((row) => row.n), expected, "every good and repaired row, in order");
  assert.deepEqual(queue.stats(), {
    queued: 0,
    written: expected.length,
    dropped: 0,
    failedWrites: 0,
    repaired: range(300).filter((n) => bad(n) === "fixable").length,
    setAside: range(300).filter((n) => bad(n) === "refused").length,
    inFlight: false,
  });
});

Deno.test("database down: a batch that cannot be written stays queued whole, unsplit and unrepaired, then lands", async () => {
  const db = fakeDatabase();
  let repairs = 0;
  const { queue, setAside, writeErrors } = queueOver(db, {
    repair: (item) => (repairs++, item),
  });
  db.state.down = true;

  for (const n of range(15)) queue.enqueue({ n });
  await assert.doesNotReject(queue.flush());

  assert.equal(db.writes.length, 1, "no splitting: the rows are not at fault");
  assert.equal(repairs, 0);
  assert.deepEqual(setAside, []);
  assert.deepEqual(writeErrors, [{ code: "ECONNREFUSED", events: 10 }]);
  assert.deepEqual(queue.stats(), {
    queued: 15,
    written: 0,
    dropped: 0,
    failedWrites: 1,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });

  db.state.down = false;
  await queue.close();
  assert.deepEqual(db.rows.map((row) => row.n), range(15));
  assert.equal(queue.stats().queued, 0);
});

Deno.test("database down: failing midway through a split puts back exactly the unwritten rows, in order", async () => {
  const db = fakeDatabase();
  const { queue, setAside, writeErrors } = queueOver(db, { repair: fixFixable });
  // Write 1 (all ten) is refused, write 2 (the first half) lands, write 3 finds the database gone.
  db.state.goesDownAtWrite = 3;

  for (const n of range(10)) queue.enqueue(n === 8 ? { n, bad: "fixable" } : { n });
  await queue.flush();

  assert.deepEqual(db.rows.map((row) => row.n), [0, 1, 2, 3, 4]);
  assert.deepEqual(writeErrors, [{ code: "ECONNREFUSED", events: 5 }]);
  assert.deepEqual(queue.stats(), {
    queued: 5,
    written: 5,
    dropped: 0,
    failedWrites: 1,
    repaired: 0,
    setAside: 0,
    inFlight: false,
  });

  db.state.down = false;
  await queue.close();
  assert.deepEqual(db.rows.map((row) => row.n), range(10));
  assert.equal(queue.stats().repaired, 1);
  assert.deepEqual(setAside, []);
});

Deno.test("database down: a repaired row that meets an unreachable database goes back in its repaired form", async () => {
  const db = fakeDatabase();
  const repairs: number[] = [];
  const { queue, setAside } = queueOver(db, {
    repair: (item) => (repairs.push(item.n), fixFixable(item)),
  });
  // Write 1 refuses the row, write 2 (its repaired copy) finds the database gone.
  db.state.goesDownAtWrite = 2;

  queue.enqueue({ n: 0, bad: "fixable" });
  await queue.flush();
  assert.equal(queue.stats().queued, 1);
  assert.equal(queue.stats().setAside, 0);

  db.state.down = false;
  await queue.close();
  assert.deepEqual(db.rows, [{ n: 0 }]);
  assert.deepEqual(repairs, [0], "the repaired copy went back, so it needed no second repair");
  assert.deepEqual(setAside, []);
});

Deno.test("poison row: broken hooks never make a flush reject, and a throwing classifier keeps rows queued", async () => {
  const db = fakeDatabase();
  const loud = new BatchQueue<Item>(db.write, {
    timers: noTimers,
    onSetAside: () => {
      throw new Error("hook broke");
    },
  });
  loud.enqueue({ n: 0, bad: "refused" });
  loud.enqueue({ n: 1 });
  await assert.doesNotReject(loud.flush());
  assert.deepEqual(db.rows.map((row) => row.n), [1]);
  assert.equal(loud.stats().setAside, 1);

  const unsure = new BatchQueue<Item>(db.write, {
    timers: noTimers,
    isRefused: () => {
      throw new Error("classifier broke");
    },
  });
  unsure.enqueue({ n: 2, bad: "refused" });
  await assert.doesNotReject(unsure.flush());
  assert.equal(unsure.stats().queued, 1, "when in doubt, nothing is given up");
  assert.equal(unsure.stats().setAside, 0);
});

Deno.test("poison row: a custom isRefused decides what counts as the rows' fault", async () => {
  const db = fakeDatabase();
  const queue = new BatchQueue<Item>(db.write, {
    timers: noTimers,
    isRefused: () => false,
  });
  queue.enqueue({ n: 0, bad: "refused" });
  queue.enqueue({ n: 1 });
  await queue.flush();
  assert.equal(queue.stats().queued, 2, "not refused: today's behaviour, the batch goes back");
  assert.equal(queue.stats().failedWrites, 1);
});

Deno.test("db errors: SQLSTATE classes 22, 23 and 54 are refusals; connection and server trouble are not", () => {
  const withCode = (code: string) => Object.assign(new Error("x"), { code });
  for (const code of ["22P02", "22P05", "22003", "23502", "23514", "54000"]) {
    assert.equal(isRefusedByDatabase(withCode(code)), true, code);
  }
  for (
    const code of [
      "08006", // connection failure
      "57014", // statement timeout
      "57P01", // server shutting down
      "40001", // serialization failure
      "53300", // too many connections
      "42P01", // a missing table: the schema, not the row
      "ECONNREFUSED",
      "CONNECTION_CLOSED",
      "CONNECT_TIMEOUT",
      "EPIPE",
    ]
  ) {
    assert.equal(isRefusedByDatabase(withCode(code)), false, code);
  }
  assert.equal(isRefusedByDatabase(new Error("PGlite is closed")), false);
  assert.equal(isRefusedByDatabase(undefined), false);
  assert.equal(isRefusedByDatabase("22P02"), false);
  assert.equal(sqlState(withCode("23514")), "23514");
  assert.equal(sqlState(withCode("ECONNREFUSED")), undefined);
});

Deno.test("db errors: the logged code is the error's code or class name, never its message", () => {
  const message = 'invalid input syntax for type uuid: "secret-row-text"';
  assert.equal(dbErrorCode(Object.assign(new Error(message), { code: "22P02" })), "22P02");
  assert.equal(dbErrorCode(new RangeError(message)), "RangeError");
  assert.equal(dbErrorCode(Object.assign(new Error(message), { code: message })), "Error");
  assert.equal(dbErrorCode(message), "unknown");
  assert.equal(dbErrorCode(null), "unknown");
});

Deno.test("writable text: lone surrogates become U+FFFD, NUL goes, length is bounded without splitting a pair", () => {
  assert.equal(writableText("bot\ud800x"), "bot\ufffdx");
  assert.equal(writableText("x\udc00"), "x\ufffd");
  assert.equal(writableText("a\u0000b\u0000"), "ab");
  assert.equal(writableText("emoji 😀 ok"), "emoji 😀 ok");
  const long = writableText("y".repeat(MAX_REPAIRED_TEXT - 1) + "😀" + "z".repeat(10));
  assert.equal(long.length, MAX_REPAIRED_TEXT);
  assert.equal(long.isWellFormed(), true);
  assert.equal(writableText("abcdef", 3), "abc");
});

Deno.test("repairs: a usage record keeps its spend and becomes storable", () => {
  const record: UsageRecord = {
    accountId: "acct\ud800",
    agentId: "bot\ud800x",
    useCase: "general\u0000",
    provider: "openai",
    model: "m".repeat(5000),
    inputTokens: 1e12,
    outputTokens: Number.NaN,
    cachedInputTokens: -3,
    cacheWriteTokens: 2.6,
    costUsd: 0.0123,
    latencyMs: Number.POSITIVE_INFINITY,
    timeToFirstTokenMs: 12.4,
    status: "weird" as UsageRecord["status"],
    errorCode: "E\u0000",
    requestId: "req-1",
    streamed: true,
    attempts: 2,
    fallbackIndex: 0,
    at: 1_700_000_000_000,
  };
  const repaired = repairUsageRecord(record);
  assert.equal(repaired.agentId, "bot\ufffdx");
  assert.equal(repaired.accountId, "acct\ufffd");
  assert.equal(repaired.useCase, "general");
  assert.equal(repaired.model!.length, MAX_REPAIRED_TEXT);
  assert.equal(repaired.errorCode, "E");
  assert.equal(repaired.inputTokens, 2_147_483_647);
  assert.equal(repaired.outputTokens, 0);
  assert.equal(repaired.cachedInputTokens, 0);
  assert.equal(repaired.cacheWriteTokens, 3);
  assert.equal(repaired.costUsd, 0.0123, "the spend survives");
  assert.equal(repaired.latencyMs, undefined);
  assert.equal(repaired.timeToFirstTokenMs, 12);
  assert.equal(repaired.status, "error");
  assert.equal(repaired.requestId, "req-1");
  assert.equal(repaired.at, 1_700_000_000_000);
  assert.equal(repaired.streamed, true);
  assert.equal(record.agentId, "bot\ud800x", "the original is not changed");
});

Deno.test("repairs: an audit event's text and detail keys and values become storable", () => {
  const repaired = repairAuditEvent({
    action: "llm.request\u0000",
    target: "bot\ud800x",
    requestId: "req-2",
    details: { ["k\ud800"]: "v\u0000", n: 3, ok: true, none: null },
    at: 42,
  });
  assert.equal(repaired.action, "llm.request");
  assert.equal(repaired.target, "bot\ufffdx");
  assert.deepEqual(repaired.details, { "k\ufffd": "v", n: 3, ok: true, none: null });
  assert.equal(repaired.requestId, "req-2");
  assert.equal(repaired.at, 42);
});
