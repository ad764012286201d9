/**
 * The StateStore contract, run against every backend: the in-memory store,
 * Upstash Redis (through the REST bridge to a real redis-server) and Postgres
 * (PGlite in process, and a real PostgreSQL when the suite provides one).
 * Every atomic operation must answer the same on all of them, step by step,
 * and hold under concurrency.
 */
import assert from "node:assert/strict";
import {
  MemoryStateStore,
  type StateStore,
} from "../supabase/functions/_shared/store/state-store.ts";
import { UpstashStateStore } from "../supabase/functions/_shared/store/upstash-store.ts";
import { PostgresStateStore } from "../supabase/functions/_shared/store/postgres-store.ts";
import { StoreUnavailableError } from "../supabase/functions/_shared/store/store-error.ts";
import type { Db, SqlRunner } from "../supabase/functions/_shared/store/db.ts";
import { postgresDb } from "../supabase/functions/_shared/store/postgres-db.ts";
import type { AtomicArg, AtomicOperation } from "../supabase/functions/_shared/store/atomic.ts";
import {
  READ_TOKENS,
  readTokens,
  TAKE_TOKENS,
  takeTokens,
} from "../supabase/functions/_shared/guards/token-bucket.ts";
import {
  ADD_WITHIN_LIMIT,
  addPerMinute,
} from "../supabase/functions/_shared/guards/window-counter.ts";
import {
  CIRCUIT_RESET,
  CIRCUIT_STEP,
  StoreCircuitBreakers,
} from "../supabase/functions/_shared/guards/store-breakers.ts";
import {
  BudgetLedger,
  RESERVE,
  SEED,
  SETTLE,
} from "../supabase/functions/_shared/guards/budget-ledger.ts";
import { ADD_TO_FIELDS, READ_FIELDS } from "../supabase/functions/_shared/metrics/hash-ops.ts";
import { GatewayGuards } from "../supabase/functions/_shared/guards/gateway-guards.ts";
import type { PlannedTarget } from "../supabase/functions/_shared/llm/route-types.ts";
import { BUILT_IN_MODELS } from "../supabase/functions/_shared/llm/catalog.ts";
import { BUILT_IN_PROVIDERS } from "../supabase/functions/_shared/llm/providers/registry.ts";
import { availableKinds, freshDb, type TestDb } from "./helpers/test-db.ts";
import { testUpstash, uniquePrefix } from "./helpers/test-upstash.ts";
import { testLogger } from "./helpers/logs.ts";

interface Backend {
  name: string;
  open(): Promise<{ store: StateStore; close(): Promise<void> }>;
}

/**
 * One migrated PGlite for the whole file (starting one costs seconds); each
 * test empties its table first. Tests in a file run one after another.
 */
let sharedPglite: Promise<TestDb> | undefined;

/** A database with the migrations applied: a fresh real PostgreSQL one, or the file's PGlite. */
async function stateDatabase(
  kind: "postgres" | "pglite",
): Promise<{ db: Db; close(): Promise<void> }> {
  if (kind === "postgres") return await freshDb("postgres");
  const database = await (sharedPglite ??= freshDb("pglite"));
  await database.db.query("delete from llm_state");
  return { db: database.db, close: () => Promise.resolve() };
}

const BACKENDS: Backend[] = [
  {
    name: "memory",
    open: () => Promise.resolve({ store: new MemoryStateStore(), close: () => Promise.resolve() }),
  },
  {
    name: "upstash",
    open: async () => {
      const endpoint = await testUpstash();
      const store = new UpstashStateStore({ ...endpoint, prefix: uniquePrefix() });
      return { store, close: () => endpoint.close() };
    },
  },
  ...availableKinds().map((kind): Backend => ({
    name: kind === "postgres" ? "postgres" : "postgres on pglite",
    open: async () => {
      const database = await stateDatabase(kind);
      return { store: new PostgresStateStore(database.db), close: () => database.close() };
    },
  })),
];

function contract(name: string, body: (store: StateStore) => Promise<void>) {
  for (const backend of BACKENDS) {
    Deno.test(`state store (${backend.name}): ${name}`, async () => {
      const { store, close } = await backend.open();
      try {
        await body(store);
      } finally {
        await close();
      }
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

contract("get/set round-trips JSON, delete removes, a TTL expires", async (store) => {
  await store.set("a", { n: 1, s: "é✓", list: [1, "2"] }, 60_000);
  assert.deepEqual(await store.get("a"), { n: 1, s: "é✓", list: [1, "2"] });
  // A string that looks like a number stays a string.
  await store.set("b", "123", 60_000);
  assert.equal(await store.get("b"), "123");
  await store.delete("a", "b");
  assert.equal(await store.get("a"), undefined);
  await store.set("short", true, 30);
  await sleep(60);
  assert.equal(await store.get("short"), undefined);
});

contract("setIfAbsent sets once, until the key expires", async (store) => {
  assert.equal(await store.setIfAbsent("once", 1, 40), true);
  assert.equal(await store.setIfAbsent("once", 2, 40), false);
  assert.equal(await store.get("once"), 1);
  await sleep(70);
  assert.equal(await store.setIfAbsent("once", 3, 1_000), true);
});

contract(
  "token bucket: a burst, then refusals with the wait, then refill by time",
  async (store) => {
    const bucket = { capacity: 3, refillPerSecond: 2 };
    const t0 = 1_000_000;
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push(await takeTokens(store, "rl", bucket, t0));
    assert.deepEqual(verdicts.map((v) => v.allowed), [true, true, true, false]);
    assert.deepEqual(verdicts.map((v) => v.remaining), [2, 1, 0, 0]);
    // Until full again: each missing token is 500 ms at 2/s.
    assert.deepEqual(verdicts.map((v) => v.resetMs), [500, 1_000, 1_500, 1_500]);
    assert.equal(verdicts[3].retryAfterMs, 500, "one token at 2/s takes 500 ms");
    assert.equal((await takeTokens(store, "rl", bucket, t0 + 499)).allowed, false);
    assert.equal((await takeTokens(store, "rl", bucket, t0 + 1_000)).allowed, true);
    // Refill never exceeds the burst, however long the bucket was idle.
    const later = await takeTokens(store, "rl", bucket, t0 + 3_600_000);
    assert.deepEqual(later, { allowed: true, retryAfterMs: 0, remaining: 2, resetMs: 500 });
    // A clock behind the last take (another isolate's) neither refills nor drains.
    const behind = await takeTokens(store, "rl", bucket, t0);
    assert.equal(behind.remaining, 1);
  },
);

contract(
  "token bucket: a read sees what a take would find, takes nothing and writes nothing",
  async (store) => {
    const bucket = { capacity: 3, refillPerSecond: 2 };
    const t0 = 2_000_000;
    // A bucket nobody took from reads full, and the read leaves no key behind.
    assert.deepEqual(await readTokens(store, "rd", bucket, t0), {
      available: 3,
      retryAfterMs: 0,
      resetMs: 0,
    });
    await takeTokens(store, "rd", bucket, t0);
    await takeTokens(store, "rd", bucket, t0);
    await takeTokens(store, "rd", bucket, t0);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await readTokens(store, "rd", bucket, t0), {
        available: 0,
        retryAfterMs: 500,
        resetMs: 1_500,
      });
    }
    // The refill is computed from the time, as the take computes it.
    assert.deepEqual(await readTokens(store, "rd", bucket, t0 + 250), {
      available: 0,
      retryAfterMs: 250,
      resetMs: 1_250,
    });
    assert.deepEqual(await readTokens(store, "rd", bucket, t0 + 1_100), {
      available: 2,
      retryAfterMs: 0,
      resetMs: 400,
    });
    // Reads took nothing: the take at +500 ms finds exactly the one token the time gave back.
    assert.deepEqual(await takeTokens(store, "rd", bucket, t0 + 500), {
      allowed: true,
      retryAfterMs: 0,
      remaining: 0,
      resetMs: 1_500,
    });
    // A read with a clock behind the last take neither refills nor drains.
    assert.equal((await readTokens(store, "rd", bucket, t0)).available, 0);
    // Deleting the bucket refills it (the rate-limit reset).
    await store.delete("rd");
    assert.equal((await readTokens(store, "rd", bucket, t0 + 500)).available, 3);
    assert.equal((await takeTokens(store, "rd", bucket, t0 + 500)).remaining, 2);
  },
);

contract("token bucket: reading a bucket that does not exist creates none", async (store) => {
  const bucket = { capacity: 1, refillPerSecond: 0.001 };
  await readTokens(store, "ghost", bucket, 0);
  assert.equal(await store.setIfAbsent("ghost", 1, 60_000), true, "the read left a key");
});

contract("token bucket: 200 concurrent takes admit exactly the burst", async (store) => {
  const bucket = { capacity: 50, refillPerSecond: 0.001 };
  const now = 5_000_000;
  const verdicts = await Promise.all(
    Array.from({ length: 200 }, () => takeTokens(store, "burst", bucket, now)),
  );
  assert.equal(verdicts.filter((v) => v.allowed).length, 50);
});

contract(
  "per-minute counter: a ceiling per window, an empty window admits an oversize request",
  async (store) => {
    const minute = 60_000 * 1_000;
    assert.deepEqual(await addPerMinute(store, "tpm", 600, 1_000, minute + 10), {
      allowed: true,
      used: 600,
      retryAfterMs: 0,
    });
    const refused = await addPerMinute(store, "tpm", 600, 1_000, minute + 20_000);
    assert.equal(refused.allowed, false);
    assert.equal(refused.used, 600);
    assert.equal(refused.retryAfterMs, 40_000, "until the next minute");
    assert.equal((await addPerMinute(store, "tpm", 400, 1_000, minute + 30_000)).allowed, true);
    // The next minute is a new window; a request above the ceiling gets in alone.
    const big = await addPerMinute(store, "tpm", 5_000, 1_000, minute + 60_000);
    assert.deepEqual(big, { allowed: true, used: 5_000, retryAfterMs: 0 });
    assert.equal((await addPerMinute(store, "tpm", 1, 1_000, minute + 61_000)).allowed, false);
  },
);

contract("circuit: the store's transitions are the breaker's state machine", async (store) => {
  const policy = { failureThreshold: 2, openMs: 1_000, halfOpenSuccesses: 2 };
  const breakers = new StoreCircuitBreakers(store, policy);
  const key = "openai:gpt-4o-mini";
  assert.equal(await breakers.state(key, 0), "CLOSED");
  assert.equal(await breakers.recordFailure(key, 10), "CLOSED");
  // A success between failures resets the count: failures must be consecutive.
  assert.equal(await breakers.recordSuccess(key, 20), "CLOSED");
  assert.equal(await breakers.recordFailure(key, 30), "CLOSED");
  assert.equal(await breakers.recordFailure(key, 40), "OPEN");
  assert.equal(await breakers.state(key, 500), "OPEN");
  assert.equal(await breakers.state(key, 1_040), "HALF_OPEN");
  assert.equal(await breakers.recordFailure(key, 1_050), "OPEN", "a failed probe reopens");
  assert.equal(await breakers.state(key, 2_049), "OPEN");
  assert.equal(await breakers.recordSuccess(key, 2_050), "HALF_OPEN");
  assert.equal(await breakers.recordSuccess(key, 2_060), "CLOSED");
  assert.equal(await breakers.state(key, 2_070), "CLOSED");
});

contract(
  "circuit: a second breaker on the same store sees the first one's open circuit",
  async (store) => {
    const policy = { failureThreshold: 1, openMs: 60_000, halfOpenSuccesses: 1 };
    const isolateA = new StoreCircuitBreakers(store, policy);
    const isolateB = new StoreCircuitBreakers(store, policy);
    assert.equal(await isolateB.state("k", 0), "CLOSED");
    await isolateA.recordFailure("k", 1);
    assert.equal(await isolateB.state("k", 2), "OPEN");
    // B's success while A's probe is pending: B had read it open, so it must write.
    assert.equal(await isolateB.recordSuccess("k", 60_002), "CLOSED");
    assert.equal(await isolateA.state("k", 60_003), "CLOSED");
  },
);

contract("circuit: reads never write (an idle circuit leaves nothing behind)", async (store) => {
  const args = ["read", 0, 5, 1_000, 2, 60_000];
  assert.deepEqual(await store.run(CIRCUIT_STEP, "c", args), { state: "CLOSED", failures: 0 });
  assert.deepEqual(await store.run(CIRCUIT_STEP, "c", ["failure", 1, 5, 1_000, 2, 60_000]), {
    state: "CLOSED",
    failures: 1,
  });
  assert.deepEqual(await store.run(CIRCUIT_STEP, "c", ["success", 2, 5, 1_000, 2, 60_000]), {
    state: "CLOSED",
    failures: 0,
  });
});

contract(
  "circuit: a reset closes the circuit whatever it was, and says how it was",
  async (store) => {
    const policy = { failureThreshold: 2, openMs: 1_000, halfOpenSuccesses: 2 };
    const breakers = new StoreCircuitBreakers(store, policy);
    const key = "platform:openai:gpt-4o-mini";
    // Nothing to reset: closed, and nothing written.
    assert.deepEqual(await breakers.reset(key, 0), { state: "CLOSED", failures: 0 });
    assert.equal(await store.setIfAbsent(`circuit:${key}`, 1, 60_000), true);
    await store.delete(`circuit:${key}`);

    // Closed with failures counted: the count goes.
    await breakers.recordFailure(key, 10);
    assert.deepEqual(await breakers.reset(key, 20), { state: "CLOSED", failures: 1 });
    assert.equal(await breakers.recordFailure(key, 30), "CLOSED", "the count started over");

    // Open: closed at once, long before its open time runs out.
    assert.equal(await breakers.recordFailure(key, 40), "OPEN");
    assert.deepEqual(await breakers.reset(key, 50), { state: "OPEN", failures: 0 });
    assert.equal(await breakers.state(key, 60), "CLOSED");
    // Another breaker on the same store (another isolate) sees it closed too.
    assert.equal(await new StoreCircuitBreakers(store, policy).state(key, 60), "CLOSED");

    // An OPEN past its open time reads (and is reported) as HALF_OPEN, as the router sees it.
    await breakers.recordFailure(key, 100);
    await breakers.recordFailure(key, 110);
    assert.deepEqual(await store.run(CIRCUIT_RESET, `circuit:${key}`, [1_200, 1_000]), {
      state: "HALF_OPEN",
      failures: 0,
    });
    assert.deepEqual(
      await store.run(CIRCUIT_STEP, `circuit:${key}`, ["read", 1_300, 2, 1_000, 2, 60_000]),
      {
        state: "CLOSED",
        failures: 0,
      },
    );
  },
);

contract(
  "budget ledger: unseeded until seeded once, holds, refusals at the limit, settle",
  async (store) => {
    const ledger = new BudgetLedger(store);
    assert.deepEqual(await ledger.reserve("b", 100, 1_000), { status: "unseeded" });
    assert.deepEqual(await ledger.seed("b", 700, 60_000), { spent: 700, reserved: 0 });
    // A second seeder (another isolate that also read llm_usage) adds nothing.
    assert.deepEqual(await ledger.seed("b", 700, 60_000), { spent: 700, reserved: 0 });
    assert.deepEqual(await ledger.reserve("b", 200, 1_000), {
      status: "reserved",
      spent: 700,
      reserved: 200,
    });
    // 900 committed < 1000: admitted, and it may overshoot by its own estimate.
    assert.deepEqual(await ledger.reserve("b", 200, 1_000), {
      status: "reserved",
      spent: 700,
      reserved: 400,
    });
    assert.deepEqual(await ledger.reserve("b", 1, 1_000), {
      status: "over",
      spent: 700,
      reserved: 400,
    });
    assert.deepEqual(await ledger.settle("b", 200, 50), { spent: 750, reserved: 200 });
    assert.deepEqual(await ledger.settle("b", 200, 0), { spent: 750, reserved: 0 });
    assert.deepEqual(await ledger.reserve("b", 1, 1_000), {
      status: "reserved",
      spent: 750,
      reserved: 1,
    });
    // Settling a ledger that vanished does not recreate it half-empty.
    assert.equal(await ledger.settle("gone", 10, 10), undefined);
    assert.deepEqual(await ledger.reserve("gone", 1, 1_000), { status: "unseeded" });
  },
);

contract(
  "budget ledger: 100 concurrent holds overshoot the limit by at most one",
  async (store) => {
    const ledger = new BudgetLedger(store);
    await ledger.seed("race", 9_500, 60_000);
    const verdicts = await Promise.all(
      Array.from({ length: 100 }, () => ledger.reserve("race", 300, 10_000)),
    );
    const admitted = verdicts.filter((v) => v.status === "reserved").length;
    assert.equal(admitted, 2, "9500 → 9800 → 10100, then refused");
    const totals = await ledger.settle("race", 0, 0);
    assert.ok(totals!.spent + totals!.reserved - 10_000 <= 300);
  },
);

/**
 * Every atomic operation, in a script that walks each through its branches,
 * one step at a time on the same keys: each backend's reply must be the
 * memory store's (which is the specification the Lua and SQL forms follow).
 */
const SCRIPT: [AtomicOperation<unknown>, string, AtomicArg[]][] = [
  // Token bucket: a fresh bucket, a burst, a refusal with its wait, refill by time (fractional
  // tokens at 0.5/s), a clock behind, a cost larger than one, and reads that never write.
  [READ_TOKENS, "tb", [3, 0.5, 1_000]],
  [TAKE_TOKENS, "tb", [3, 0.5, 1_000, 1]],
  [TAKE_TOKENS, "tb", [3, 0.5, 1_000, 1]],
  [TAKE_TOKENS, "tb", [3, 0.5, 1_000, 1]],
  [TAKE_TOKENS, "tb", [3, 0.5, 1_000, 1]],
  [READ_TOKENS, "tb", [3, 0.5, 1_700]],
  [TAKE_TOKENS, "tb", [3, 0.5, 2_500, 1]],
  [TAKE_TOKENS, "tb", [3, 0.5, 3_250, 1]],
  [TAKE_TOKENS, "tb", [3, 0.5, 2_000, 1]],
  [TAKE_TOKENS, "tb", [3, 0.5, 9_000, 2]],
  [READ_TOKENS, "tb", [3, 0.5, 9_000]],
  [TAKE_TOKENS, "tb", [3, 0.5, 9_000, 5]],
  // Per-minute counter: under, refused, exactly at the limit, and an oversize first request.
  [ADD_WITHIN_LIMIT, "w", [600, 1_000, 60_000]],
  [ADD_WITHIN_LIMIT, "w", [600, 1_000, 60_000]],
  [ADD_WITHIN_LIMIT, "w", [400, 1_000, 60_000]],
  [ADD_WITHIN_LIMIT, "w", [1, 1_000, 60_000]],
  [ADD_WITHIN_LIMIT, "w2", [5_000, 1_000, 60_000]],
  // Circuit: reads of nothing, failures to open, open, half-open by time, a failed probe,
  // probes that close it, and resets of an open, a half-open and a missing circuit.
  [CIRCUIT_STEP, "c", ["read", 0, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["success", 1, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["failure", 10, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["failure", 20, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["read", 500, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["failure", 600, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["read", 1_020, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["failure", 1_030, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["success", 2_030, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["success", 2_040, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["read", 2_050, 2, 1_000, 2, 60_000]],
  [CIRCUIT_STEP, "c", ["failure", 2_060, 1, 1_000, 2, 60_000]],
  [CIRCUIT_RESET, "c", [2_070, 1_000]],
  [CIRCUIT_STEP, "c", ["failure", 3_000, 1, 1_000, 2, 60_000]],
  [CIRCUIT_RESET, "c", [4_500, 1_000]],
  [CIRCUIT_RESET, "c", [4_600, 1_000]],
  // Budget ledger: unseeded, seeded once, holds up to and past the limit, settles, a vanished ledger.
  [RESERVE, "b", [100, 1_000]],
  [SETTLE, "b", [100, 100]],
  [SEED, "b", [700, 60_000]],
  [SEED, "b", [700, 60_000]],
  [RESERVE, "b", [200, 1_000]],
  [RESERVE, "b", [200, 1_000]],
  [RESERVE, "b", [1, 1_000]],
  [SETTLE, "b", [200, 50]],
  [SETTLE, "b", [500, 0]],
  [RESERVE, "b", [1, 1_000]],
  // Metrics hashes: adds to new and existing fields, reads of a hash and of nothing.
  [ADD_TO_FIELDS, "m", [60_000, "requests", 2, "tokens", 300]],
  [ADD_TO_FIELDS, "m", [60_000, "requests", 1, "errors", 1]],
  [READ_FIELDS, "m", []],
  [READ_FIELDS, "none", []],
];

contract("every operation answers as the memory store does, step by step", async (store) => {
  const memory = new MemoryStateStore();
  for (const [index, [operation, key, args]] of SCRIPT.entries()) {
    assert.deepEqual(
      await store.run(operation, key, args),
      await memory.run(operation, key, args),
      `step ${index}: ${operation.name} ${JSON.stringify(args)}`,
    );
  }
});

contract("setIfAbsent finds a key an operation wrote, until it expires", async (store) => {
  await store.run(ADD_TO_FIELDS, "h", [40, "n", 1]);
  assert.equal(await store.setIfAbsent("h", 1, 60_000), false, "a live hash is present");
  await sleep(70);
  assert.deepEqual(await store.run(READ_FIELDS, "h", []), {}, "an expired hash reads empty");
  assert.equal(await store.setIfAbsent("h", 1, 60_000), true);
});

Deno.test("state store (upstash): a failing script's error names Redis's reason, never the arguments", async () => {
  const endpoint = await testUpstash();
  const store = new UpstashStateStore({ ...endpoint, prefix: uniquePrefix() });
  const broken: AtomicOperation<unknown> = {
    name: "broken",
    lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
    sql: "llm_state_op_broken",
    apply: () => ({ reply: [] }),
    decode: (reply) => reply,
  };
  try {
    await assert.rejects(
      store.run(broken, "k", ["sk-proj-secretvalue-that-must-not-leak"]),
      (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.match(error.message, /not an integer/);
        assert.doesNotMatch(error.message, /secretvalue/);
        return true;
      },
    );
  } finally {
    await endpoint.close();
  }
});

Deno.test("state store (upstash): an unreachable Redis is a StoreUnavailableError, quickly", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const store = new UpstashStateStore({
    url: `http://127.0.0.1:${port}`,
    token: "t",
    retries: 0,
  });
  const started = performance.now();
  await assert.rejects(store.get("k"), StoreUnavailableError);
  assert.ok(performance.now() - started < 2_000);
});

Deno.test("state store (upstash): a near cache reuses reads for its time; a delete here clears it", async () => {
  const endpoint = await testUpstash();
  const prefix = uniquePrefix();
  const isolateA = new UpstashStateStore({ ...endpoint, prefix, nearCacheMs: 150 });
  const isolateB = new UpstashStateStore({ ...endpoint, prefix });
  try {
    assert.equal(await isolateA.get("setting"), undefined);
    await isolateB.set("setting", "v2", 60_000);
    assert.equal(await isolateA.get("setting"), undefined, "A reuses its read");
    await sleep(200);
    assert.equal(await isolateA.get("setting"), "v2", "and reads again once it is stale");
    await isolateA.delete("setting");
    await isolateB.set("setting", "v3", 60_000);
    assert.equal(await isolateA.get("setting"), "v3", "its own delete cleared the near copy");
    // Atomic operations never go through the near cache.
    const bucket = { capacity: 1, refillPerSecond: 0.001 };
    assert.equal((await takeTokens(isolateA, "rl", bucket, 0)).allowed, true);
    assert.equal((await takeTokens(isolateB, "rl", bucket, 0)).allowed, false);
  } finally {
    await endpoint.close();
  }
});

Deno.test("state store (memory): the oldest entries go beyond maxEntries", async () => {
  const store = new MemoryStateStore(Date.now, { maxEntries: 3 });
  for (const key of ["a", "b", "c", "d"]) await store.set(key, key, 60_000);
  assert.equal(await store.get("a"), undefined);
  assert.equal(await store.get("d"), "d");
  assert.equal(store.size, 3);
});

Deno.test("state store (memory): expiry follows the injected clock", async () => {
  let now = 0;
  const store = new MemoryStateStore(() => now);
  await store.set("k", 1, 100);
  now = 99;
  assert.equal(await store.get("k"), 1);
  now = 100;
  assert.equal(await store.get("k"), undefined);
});

Deno.test("state store (memory): an operation that changes the hash it is given is refused, and the hash stays", async () => {
  const store = new MemoryStateStore();
  const op = <R>(
    name: string,
    apply: AtomicOperation<R>["apply"],
    decode: AtomicOperation<R>["decode"],
  ) => ({ name, lua: "", sql: "", apply, decode }) satisfies AtomicOperation<R>;
  const write = op("write", (_fields, args) => ({ fields: { a: args[0] }, reply: [1] }), () => {});
  const read = op("read", (fields) => ({ reply: [fields?.a ?? ""] }), (reply) => String(reply[0]));
  // As a Lua script cannot change Redis's hash behind its back, a step must return a new one.
  const sneaky = op("sneaky", (fields) => {
    (fields as Record<string, string>).a = "changed";
    return { reply: [1] };
  }, () => {});
  await store.run(write, "k", ["one"]);
  let outcome: Promise<void> | undefined;
  assert.doesNotThrow(() => outcome = store.run(sneaky, "k", []), "a rejection, never a throw");
  await assert.rejects(outcome!, TypeError);
  assert.equal(await store.run(read, "k", []), "one");
});

/** `db` as an isolate's store would use it, counting the `llm_state_run` round trips. */
function countingTrips(db: SqlRunner): { runner: SqlRunner; trips: { count: number } } {
  const trips = { count: 0 };
  return {
    trips,
    runner: {
      query: (sql, params) => {
        if (sql.includes("llm_state_run")) trips.count++;
        return db.query(sql, params);
      },
    },
  };
}

Deno.test("state store (postgres): commands of one tick travel in one round trip, answered in order", async () => {
  const database = await stateDatabase("pglite");
  const { runner, trips } = countingTrips(database.db);
  const store = new PostgresStateStore(runner);
  try {
    const bucket = { capacity: 2, refillPerSecond: 0.001 };
    const [first, second, third, , read, locked, lockedAgain, window] = await Promise.all([
      takeTokens(store, "rl", bucket, 0),
      takeTokens(store, "rl", bucket, 0),
      takeTokens(store, "rl", bucket, 0),
      store.set("cfg", { v: 1 }, 60_000),
      store.get("cfg"),
      store.setIfAbsent("lock", 1, 60_000),
      store.setIfAbsent("lock", 2, 60_000),
      addPerMinute(store, "tpm", 10, 100, 0),
    ]);
    assert.equal(trips.count, 1);
    assert.deepEqual([first, second, third].map((v) => v.allowed), [true, true, false]);
    assert.deepEqual(read, { v: 1 }, "a get after a set on the same key sees it");
    assert.deepEqual([locked, lockedAgain], [true, false]);
    assert.equal(window.used, 10);
  } finally {
    await database.close();
  }
});

Deno.test("state store (postgres): commands issued while a batch is in flight leave together, next", async () => {
  const database = await stateDatabase("pglite");
  const { runner, trips } = countingTrips(database.db);
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  // The first batch waits for the test's word, as a busy database would keep it waiting.
  const slow: SqlRunner = {
    query: async (sql, params) => {
      if (trips.count === 0) await held;
      return await runner.query(sql, params);
    },
  };
  const store = new PostgresStateStore(slow);
  try {
    const bucket = { capacity: 10, refillPerSecond: 0.001 };
    const first = takeTokens(store, "rl", bucket, 0);
    await sleep(5);
    // Three requests arriving one after another while the first batch is out.
    const later = [];
    for (let i = 0; i < 3; i++) {
      later.push(takeTokens(store, "rl", bucket, 0));
      await sleep(1);
    }
    release();
    const verdicts = await Promise.all([first, ...later]);
    assert.deepEqual(verdicts.map((v) => v.remaining), [9, 8, 7, 6], "in the order issued");
    assert.equal(trips.count, 2);
  } finally {
    await database.close();
  }
});

Deno.test("state store (postgres): a guard step costs one round trip (rate limit; ceilings and budgets)", async () => {
  const database = await stateDatabase("pglite");
  const { runner, trips } = countingTrips(database.db);
  const ceilings = { "gpt-4o-mini": { rpm: 1_000, tpm: 1_000_000 } };
  const settled: Promise<unknown>[] = [];
  const guards = new GatewayGuards({
    store: new PostgresStateStore(runner),
    settings: {
      forAccount: () =>
        Promise.resolve({
          rateLimit: { requestsPerSecond: 100, burst: 100, models: ceilings },
          budgets: [{
            agentId: null,
            dailyLimitUsd: 100,
            monthlyLimitUsd: 1_000,
            maxPricePerMTok: null,
            alertThreshold: 0.8,
            timeZone: "UTC",
          }],
        }),
      recordedSpend: () => Promise.resolve(0),
    },
    policy: { modelCeilings: ceilings, failClosed: true },
    now: Date.now,
    log: testLogger("state-store-contract-test"),
    waitUntil: (work) => void settled.push(work),
    onBudgetAlert: () => {},
  });
  const target: PlannedTarget = {
    model: BUILT_IN_MODELS.find((m) => m.id === "gpt-4o-mini")!,
    spec: BUILT_IN_PROVIDERS.find((p) => p.name === "openai")!,
    request: { messages: [{ role: "user", content: "hi" }], maxTokens: 10 },
    droppedMessages: 0,
    inputTokens: 20,
    warnings: [],
  };
  const caller = { accountId: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" };
  try {
    // The first request of a window seeds its ledgers from llm_usage: not the steady state.
    (await (await guards.admit(caller)).gate!.admit(target)).settle(0.0001);
    await Promise.all(settled);

    trips.count = 0;
    const admitted = await guards.admit(caller);
    assert.equal(trips.count, 1, "the bucket's take");
    trips.count = 0;
    // Deployment and account rpm and tpm ceilings, the daily and the monthly hold: six operations.
    const admission = await admitted.gate!.admit(target);
    assert.equal(trips.count, 1, "every ceiling and hold together");
    admission.settle(0.0001);
    await Promise.all(settled);
  } finally {
    await database.close();
  }
});

Deno.test("state store (postgres): a command the database refuses fails alone and names no argument; its batch is applied once", async () => {
  const database = await stateDatabase("pglite");
  const store = new PostgresStateStore(database.db);
  try {
    const bucket = { capacity: 5, refillPerSecond: 0.001 };
    const [taken, refused, written] = await Promise.allSettled([
      takeTokens(store, "rl", bucket, 0),
      store.run(ADD_WITHIN_LIMIT, "w", ["sk-proj-secretvalue-that-must-not-leak", 10, 60_000]),
      store.set("k", "v", 60_000),
    ]);
    assert.equal(taken.status === "fulfilled" && taken.value.allowed, true);
    assert.equal(written.status, "fulfilled");
    assert.equal(refused.status, "rejected");
    const error = (refused as PromiseRejectedResult).reason;
    assert.ok(error instanceof StoreUnavailableError);
    assert.match(error.message, /add_within_limit failed: 22P02/);
    assert.doesNotMatch(error.message, /secretvalue/);
    // Sent again command by command after the batch failed, the take still counted once.
    assert.equal((await readTokens(store, "rl", bucket, 0)).available, 4);
    assert.equal(await store.get("k"), "v");
  } finally {
    await database.close();
  }
});

Deno.test("state store (postgres): a database without the migration, or out of reach, is a StoreUnavailableError", async () => {
  let calls = 0;
  const failing = (code: string): SqlRunner => ({
    query: () => {
      calls++;
      return Promise.reject(Object.assign(new Error("relation or function missing"), { code }));
    },
  });
  const unmigrated = new PostgresStateStore(failing("42883"));
  await assert.rejects(unmigrated.get("k"), (error: unknown) => {
    assert.ok(error instanceof StoreUnavailableError);
    assert.match(
      error.message,
      /42883 \(is migration 20261201000200_llm_state_store\.sql applied\?\)/,
    );
    return true;
  });
  // A connection that broke may have committed the batch: nothing is sent twice.
  calls = 0;
  const unreachable = new PostgresStateStore(failing("ECONNREFUSED"));
  const outcomes = await Promise.allSettled([
    takeTokens(unreachable, "rl", { capacity: 1, refillPerSecond: 1 }, 0),
    unreachable.get("k"),
  ]);
  assert.equal(calls, 1);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, "rejected");
    assert.match(String((outcome as PromiseRejectedResult).reason), /ECONNREFUSED/);
  }
});

Deno.test("state store (postgres): expired rows are ignored, then swept by llm_state_sweep()", async () => {
  const database = await stateDatabase("pglite");
  const store = new PostgresStateStore(database.db);
  try {
    await store.set("short", 1, 30);
    await store.run(ADD_TO_FIELDS, "hash", [30, "n", 1]);
    await store.set("long", 1, 60_000);
    await sleep(60);
    assert.equal(await store.get("short"), undefined);
    assert.deepEqual(await store.run(READ_FIELDS, "hash", []), {});
    assert.equal((await database.db.query("select key from llm_state")).length, 3, "still there");
    const [{ swept }] = await database.db.query<{ swept: number }>(
      "select public.llm_state_sweep() as swept",
    );
    assert.equal(swept, 2);
    assert.deepEqual(await database.db.query("select key from llm_state"), [{ key: "long" }]);
  } finally {
    await database.close();
  }
});

Deno.test("state store (postgres): a near cache reuses reads for its time; a delete here clears it", async () => {
  const database = await stateDatabase("pglite");
  const isolateA = new PostgresStateStore(database.db, { nearCacheMs: 150 });
  const isolateB = new PostgresStateStore(database.db);
  try {
    assert.equal(await isolateA.get("setting"), undefined);
    await isolateB.set("setting", "v2", 60_000);
    assert.equal(await isolateA.get("setting"), undefined, "A reuses its read");
    await sleep(200);
    assert.equal(await isolateA.get("setting"), "v2", "and reads again once it is stale");
    await isolateA.delete("setting");
    await isolateB.set("setting", "v3", 60_000);
    assert.equal(await isolateA.get("setting"), "v3", "its own delete cleared the near copy");
    const bucket = { capacity: 1, refillPerSecond: 0.001 };
    assert.equal((await takeTokens(isolateA, "rl", bucket, 0)).allowed, true);
    assert.equal((await takeTokens(isolateB, "rl", bucket, 0)).allowed, false);
  } finally {
    await database.close();
  }
});

for (const kind of availableKinds()) {
  Deno.test(`state store (${kind}): users cannot read the state table or run its functions`, async () => {
    const database = await stateDatabase(kind);
    try {
      for (const role of ["anon", "authenticated"]) {
        for (const sql of ["select * from llm_state", "select public.llm_state_run('[]'::jsonb)"]) {
          await assert.rejects(
            database.db.transaction(async (tx) => {
              await tx.query(`set local role ${role}`);
              await tx.query(sql);
            }),
            /permission denied/,
            `${role}: ${sql}`,
          );
        }
      }
    } finally {
      await database.close();
    }
  });
}

Deno.test({
  name:
    "state store (postgres): isolates on their own connections racing on new keys admit exactly the burst and the budget",
  ignore: !Deno.env.get("TEST_DATABASE_URL"),
  fn: async () => {
    const database = await freshDb("postgres");
    const pools = Array.from({ length: 4 }, () => postgresDb(database.url!, { max: 2 }));
    const isolates = pools.map((db) => new PostgresStateStore(db));
    // Staggered, so batches of every size from every isolate interleave on the same rows.
    const staggered = <T>(count: number, call: (store: StateStore) => Promise<T>) =>
      Promise.all(Array.from({ length: count }, async (_, i) => {
        await sleep(i % 7);
        return await call(isolates[i % isolates.length]);
      }));
    try {
      const bucket = { capacity: 50, refillPerSecond: 0.001 };
      const verdicts = await staggered(200, (store) => takeTokens(store, "burst", bucket, 5_000));
      assert.equal(verdicts.filter((v) => v.allowed).length, 50);

      await Promise.all(
        isolates.map((store) => new BudgetLedger(store).seed("race", 9_500, 60_000)),
      );
      const holds = await staggered(
        100,
        (store) => new BudgetLedger(store).reserve("race", 300, 10_000),
      );
      assert.equal(holds.filter((v) => v.status === "reserved").length, 2);
      const counted = await staggered(
        100,
        (store) => store.run(ADD_TO_FIELDS, "metrics", [60_000, "requests", 1]),
      );
      assert.equal(counted.length, 100);
      assert.deepEqual(await isolates[0].run(READ_FIELDS, "metrics", []), { requests: 100 });
    } finally {
      await Promise.all(pools.map((db) => db.close()));
      await database.close();
    }
  },
});
