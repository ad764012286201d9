/** The router rollout flag: a stable, proportional, monotonic split of users. */
import assert from "node:assert/strict";
import { rolloutFlagFrom, servingPathFor } from "../supabase/functions/_shared/direct/rollout.ts";
import { directWorld } from "./helpers/direct-world.ts";
import { signToken } from "./helpers/tokens.ts";

const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}-${(i * 2654435761) % 1_000_003}`);

async function shareOnRouter(percent: number): Promise<number> {
  let routed = 0;
  for (const user of users) {
    if (await servingPathFor(user, { enabled: true, percent }) === "router") routed++;
  }
  return routed / users.length;
}

Deno.test("rollout: N% of 10,000 synthetic users go to the router, within ±2%", async () => {
  for (const percent of [1, 10, 25, 50, 75, 90]) {
    const share = await shareOnRouter(percent);
    assert.ok(
      Math.abs(share * 100 - percent) <= 2,
      `${percent}% gave ${(share * 100).toFixed(2)}%`,
    );
  }
  assert.equal(await shareOnRouter(0), 0);
  assert.equal(await shareOnRouter(100), 1);
});

Deno.test("rollout: the same user always takes the same path", async () => {
  for (const user of users.slice(0, 200)) {
    const first = await servingPathFor(user, { enabled: true, percent: 50 });
    for (let i = 0; i < 3; i++) {
      assert.equal(await servingPathFor(user, { enabled: true, percent: 50 }), first);
    }
  }
});

Deno.test("rollout: raising the percentage only adds users to the router", async () => {
  for (const user of users.slice(0, 2_000)) {
    if (await servingPathFor(user, { enabled: true, percent: 20 }) === "router") {
      assert.equal(await servingPathFor(user, { enabled: true, percent: 40 }), "router");
    }
  }
});

Deno.test("rollout: disabled means direct for everyone, whatever the percentage", async () => {
  for (const user of users.slice(0, 100)) {
    assert.equal(await servingPathFor(user, { enabled: false, percent: 100 }), "direct");
  }
});

Deno.test("rollout flag parsing: enabled without a percentage is everyone; a bad percentage is nobody, with a warning", () => {
  const warnings: string[] = [];
  assert.deepEqual(rolloutFlagFrom(true, undefined, warnings), { enabled: true, percent: 100 });
  assert.deepEqual(rolloutFlagFrom(true, "12.5", warnings), { enabled: true, percent: 12.5 });
  assert.deepEqual(rolloutFlagFrom(false, "50", warnings), { enabled: false, percent: 0 });
  assert.equal(warnings.length, 0);
  assert.deepEqual(rolloutFlagFrom(true, "150", warnings), { enabled: true, percent: 0 });
  assert.deepEqual(rolloutFlagFrom(true, "lots", warnings), { enabled: true, percent: 0 });
  assert.equal(warnings.length, 2);
});

Deno.test("rollout in the function: a routed user gets 503 ROUTER_UNAVAILABLE with x-llm-path: router and no upstream call", async () => {
  const world = await directWorld({
    env: { ENABLE_LLM_ROUTER: "true", LLM_ROUTER_ROLLOUT_PERCENT: "100" },
  });
  try {
    const response = await world.post({ messages: [{ role: "user", content: "hi" }] });
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("x-llm-path"), "router");
    assert.equal((await response.json()).error.code, "ROUTER_UNAVAILABLE");
    assert.equal(world.mock.requests.length, 0);
  } finally {
    await world.close();
  }
});

Deno.test("rollout in the function: at 50% each user's path is stable across requests and both paths occur", async () => {
  const world = await directWorld({
    env: { ENABLE_LLM_ROUTER: "1", LLM_ROUTER_ROLLOUT_PERCENT: "50" },
  });
  try {
    const paths = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const token = await signToken({ sub: `rollout-user-${i}` });
      const seen = new Set<string>();
      for (let attempt = 0; attempt < 2; attempt++) {
        const response = await world.post({ messages: [{ role: "user", content: "hi" }] }, {
          headers: { authorization: `Bearer ${token}` },
        });
        seen.add(response.headers.get("x-llm-path")!);
        await response.body?.cancel();
      }
      assert.equal(seen.size, 1, `user ${i} switched paths`);
      paths.add([...seen][0]);
    }
    assert.deepEqual([...paths].sort(), ["direct", "router"]);
  } finally {
    await world.close();
  }
});

Deno.test("rollout in the function: a malformed percentage keeps everyone direct and logs a warning", async () => {
  const world = await directWorld({
    env: { ENABLE_LLM_ROUTER: "true", LLM_ROUTER_ROLLOUT_PERCENT: "half" },
  });
  try {
    const response = await world.post({ messages: [{ role: "user", content: "hi" }] });
    assert.equal(response.headers.get("x-llm-path"), "direct");
    await response.body?.cancel();
    assert.ok(
      world.logs.some((line) =>
        line.includes("config_warning") && line.includes("LLM_ROUTER_ROLLOUT_PERCENT")
      ),
    );
  } finally {
    await world.close();
  }
});
