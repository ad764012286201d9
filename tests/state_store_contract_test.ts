/**
 * The StateStore contract, run against both backends: the in-memory store and
 * Upstash Redis (through the REST bridge to a real redis-server). Every atomic
 * operation must answer the same on both, and hold under concurrency.
 */
import assert from "node:assert/strict";
import {
  MemoryStateStore,
  type StateStore,
} from "../supabase/functions/_shared/store/state-store.ts";
import {
  StoreUnavailableError,
  UpstashStateStore,
} from "../supabase/functions/_shared/store/upstash-store.ts";
import type { AtomicOperation } from "../supabase/functions/_shared/store/atomic.ts";
import { readTokens, takeTokens } from "../supabase/functions/_shared/guards/token-bucket.ts";
import { addPerMinute } from "../supabase/functions/_shared/guards/window-counter.ts";
import {
  CIRCUIT_RESET,
  CIRCUIT_STEP,
  StoreCircuitBreakers,
} from "../supabase/functions/_shared/guards/store-breakers.ts";
import { BudgetLedger } from "../supabase/functions/_shared/guards/budget-ledger.ts";
import { testUpstash, uniquePrefix } from "./helpers/test-upstash.ts";

interface Backend {
  name: string;
  open(): Promise<{ store: StateStore; close(): Promise<void> }>;
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

Deno.test("state store (upstash): a failing script's error names Redis's reason, never the arguments", async () => {
  const endpoint = await testUpstash();
  const store = new UpstashStateStore({ ...endpoint, prefix: uniquePrefix() });
  const broken: AtomicOperation<unknown> = {
    name: "broken",
    lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
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
  ) => ({ name, lua: "", apply, decode }) satisfies AtomicOperation<R>;
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
