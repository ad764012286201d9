/**
 * The real `@upstash/redis` client against a real redis-server through the
 * loopback Upstash REST bridge (scripts/redis/bridge.ts). Every behaviour is
 * pinned in the client's four wire modes: base64 or UTF-8 responses, each
 * auto-pipelined (the default: most calls travel as POST /pipeline) or one
 * POST / per command. The bridge's own HTTP contract is pinned with raw fetch.
 */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { startUpstashBridge } from "../scripts/redis/bridge.ts";
import { startRedis } from "../scripts/test/redis.ts";
import { testUpstash, uniquePrefix } from "./helpers/test-upstash.ts";

type ClientOptions = { responseEncoding?: false; enableAutoPipelining?: boolean };

const MODES: { name: string; options: ClientOptions }[] = [
  { name: "base64, auto-pipelined", options: {} },
  { name: "utf-8, auto-pipelined", options: { responseEncoding: false } },
  { name: "base64, one request per command", options: { enableAutoPipelining: false } },
  {
    name: "utf-8, one request per command",
    options: { responseEncoding: false, enableAutoPipelining: false },
  },
];

interface World {
  redis: Redis;
  /** `name` under this test's private prefix. */
  key(name: string): string;
  prefix: string;
  url: string;
  token: string;
  options: ClientOptions;
}

function client(url: string, token: string, options: ClientOptions = {}): Redis {
  return new Redis({ url, token, enableTelemetry: false, ...options });
}

/** One test per client mode, each with its own key prefix, its keys deleted afterwards. */
function bridgeTest(name: string, fn: (world: World) => Promise<void>) {
  for (const mode of MODES) {
    Deno.test(`redis bridge (${mode.name}): ${name}`, async () => {
      const endpoint = await testUpstash();
      const prefix = uniquePrefix();
      try {
        await fn({
          redis: client(endpoint.url, endpoint.token, mode.options),
          key: (name) => prefix + name,
          prefix,
          url: endpoint.url,
          token: endpoint.token,
          options: mode.options,
        });
      } finally {
        const cleaner = client(endpoint.url, endpoint.token, { enableAutoPipelining: false });
        const keys = await cleaner.keys(`${prefix}*`);
        if (keys.length > 0) await cleaner.del(...keys);
        await endpoint.close();
      }
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

bridgeTest("set/get deserializes JSON objects and keeps strings", async ({ redis, key }) => {
  const profile = { name: "Ada", tags: ["math", "engines"], visits: 3, active: true, none: null };
  assert.equal(await redis.set(key("profile"), profile), "OK");
  assert.equal(await redis.set(key("greeting"), "hello world"), "OK");
  assert.equal(await redis.set(key("answer"), 42), "OK");
  assert.deepEqual(await redis.get(key("profile")), profile);
  assert.equal(await redis.get(key("greeting")), "hello world");
  assert.equal(await redis.get(key("answer")), 42);
  assert.equal(await redis.get(key("missing")), null);
});

bridgeTest("unicode and binary-looking strings survive byte for byte", async ({ redis, key }) => {
  const values = {
    unicode: "héllo wörld 🚀 日本語",
    control: "\u0000\u0001\u001f\u007f tab\there",
    // Strings that look like base64 or like status replies must not be decoded twice.
    looksBase64: "aGVsbG8=",
    ok: "OK",
    pong: "PONG",
    empty: "",
    notJson: "{not json",
  };
  for (const [name, value] of Object.entries(values)) {
    assert.equal(await redis.set(key(name), value), "OK");
  }
  for (const [name, value] of Object.entries(values)) {
    assert.equal(await redis.get(key(name)), value, name);
  }
  // Redis holds UTF-8 bytes, not some re-encoding of them.
  assert.equal(await redis.strlen(key("unicode")), new TextEncoder().encode(values.unicode).length);
  const rocketAt = new TextEncoder().encode("héllo wörld ").length;
  assert.equal(await redis.getrange(key("unicode"), rocketAt, rocketAt + 3), "🚀");
});

bridgeTest("set honours nx and px", async ({ redis, key }) => {
  assert.equal(await redis.set(key("lock"), "first", { nx: true, px: 5000 }), "OK");
  assert.equal(await redis.set(key("lock"), "second", { nx: true }), null);
  assert.equal(await redis.get(key("lock")), "first");
  const ttl = await redis.pttl(key("lock"));
  assert.ok(ttl > 0 && ttl <= 5000, `pttl ${ttl}`);

  assert.equal(await redis.set(key("brief"), "gone soon", { px: 30 }), "OK");
  await sleep(80);
  assert.equal(await redis.get(key("brief")), null);
});

bridgeTest("incr, incrby and decr count", async ({ redis, key }) => {
  assert.equal(await redis.incr(key("n")), 1);
  assert.equal(await redis.incrby(key("n"), 41), 42);
  assert.equal(await redis.decr(key("n")), 41);
  assert.equal(await redis.get(key("n")), 41);
});

bridgeTest("hset, hgetall and hincrby work on hashes", async ({ redis, key }) => {
  assert.equal(await redis.hset(key("h"), { name: "ada", visits: 1, meta: { lang: "en" } }), 3);
  assert.deepEqual(await redis.hgetall(key("h")), {
    name: "ada",
    visits: 1,
    meta: { lang: "en" },
  });
  assert.equal(await redis.hincrby(key("h"), "visits", 4), 5);
  assert.equal(await redis.hget(key("h"), "visits"), 5);
  assert.equal(await redis.hgetall(key("nothing")), null);
});

bridgeTest("del and exists count keys", async ({ redis, key }) => {
  await redis.set(key("a"), "1");
  await redis.set(key("b"), "2");
  assert.equal(await redis.exists(key("a"), key("b"), key("c")), 2);
  assert.equal(await redis.del(key("a"), key("c")), 1);
  assert.equal(await redis.exists(key("a"), key("b")), 1);
});

bridgeTest("pttl tells missing, persistent and expiring keys apart", async ({ redis, key }) => {
  assert.equal(await redis.pttl(key("missing")), -2);
  await redis.set(key("forever"), "x");
  assert.equal(await redis.pttl(key("forever")), -1);
  await redis.set(key("soon"), "x", { px: 10_000 });
  const ttl = await redis.pttl(key("soon"));
  assert.ok(ttl > 9_000 && ttl <= 10_000, `pttl ${ttl}`);
});

bridgeTest(
  "eval returns integers, strings, statuses and nil inside arrays",
  async ({ redis, key }) => {
    const script = `
    local n = redis.call('incrby', KEYS[1], ARGV[1])
    return {1, 2, ARGV[2], n, redis.status_reply('OK'), false, {7, 'nested'}}
  `;
    assert.deepEqual(await redis.eval(script, [key("counter")], ["5", "three"]), [
      1,
      2,
      "three",
      5,
      "OK",
      null,
      [7, "nested"],
    ]);
  },
);

bridgeTest("simple-string replies arrive as sent", async ({ redis, key }) => {
  await redis.set(key("s"), "x");
  assert.equal(await redis.ping(), "PONG");
  assert.equal(await redis.type(key("s")), "string");
  assert.equal(await redis.type(key("missing")), "none");
  assert.equal(await redis.echo("echoed"), "echoed");
});

bridgeTest(
  "createScript runs EVALSHA, falling back to EVAL on NOSCRIPT",
  async ({ redis, key, prefix }) => {
    // The prefix makes the script new to this Redis, so the first exec must take the fallback.
    const source = `-- ${prefix}\nreturn redis.call('incrby', KEYS[1], ARGV[1])`;
    const sha1 = await sha1Hex(source);
    assert.deepEqual(await redis.scriptExists(sha1), [0]);
    const script = redis.createScript<number>(source);
    assert.equal(await script.exec([key("n")], ["2"]), 2);
    assert.equal(script.sha1, sha1);
    assert.deepEqual(await redis.scriptExists(sha1), [1]);
    assert.equal(await script.exec([key("n")], ["3"]), 5);
    assert.equal(await script.evalsha([key("n")], ["1"]), 6);
  },
);

bridgeTest("an explicit pipeline returns every result, and its errors", async ({ redis, key }) => {
  const results = await redis.pipeline()
    .set(key("p"), "1")
    .incr(key("p"))
    .get(key("p"))
    .hset(key("ph"), { f: "v" })
    .hget(key("ph"), "f")
    .exec();
  assert.deepEqual(results, ["OK", 2, 2, 1, "v"]);

  const failing = redis.pipeline().set(key("word"), "abc").incr(key("word")).get(key("word"));
  await assert.rejects(failing.exec(), /Command 2 \[ incr \] failed: ERR value is not an integer/);
  const kept = await redis.pipeline().incr(key("word")).get(key("word")).exec({ keepErrors: true });
  assert.match(kept[0].error ?? "", /ERR value is not an integer/);
  assert.deepEqual(kept[1], { error: undefined, result: "abc" });
});

bridgeTest("multi runs atomically, even many at once", async ({ redis, key }) => {
  assert.deepEqual(await redis.multi().set(key("m"), "1").incr(key("m")).get(key("m")).exec(), [
    "OK",
    2,
    2,
  ]);
  // If transactions interleaved, some GET would see another transaction's INCR.
  const pairs = await Promise.all(
    Array.from({ length: 25 }, () => redis.multi().incr(key("t")).get<number>(key("t")).exec()),
  );
  for (const [incremented, read] of pairs) assert.equal(read, incremented);
  assert.deepEqual(pairs.map(([n]) => n).sort((a, b) => a - b), range(1, 25));
});

bridgeTest("many concurrent commands in one tick all get their own answers", async (world) => {
  const { redis, key } = world;
  const counts = await Promise.all(Array.from({ length: 60 }, () => redis.incr(key("c"))));
  const writes = await Promise.all(range(1, 40).map((i) => redis.set(key(`k${i}`), { i })));
  const reads = await Promise.all(range(1, 40).map((i) => redis.get<{ i: number }>(key(`k${i}`))));
  assert.deepEqual([...counts].sort((a, b) => a - b), range(1, 60));
  assert.deepEqual(writes, range(1, 40).map(() => "OK"));
  assert.deepEqual(reads, range(1, 40).map((i) => ({ i })));
  if (world.options.enableAutoPipelining !== false) {
    // Auto-pipelining sends each tick's commands as one POST /pipeline, in order.
    assert.deepEqual(counts, range(1, 60));
    const executed = (redis as unknown as { pipelineCounter: number }).pipelineCounter;
    assert.equal(executed, 3, "one pipeline per tick");
  }
});

bridgeTest("a Redis error rejects with Redis's message", async ({ redis, key }) => {
  await redis.set(key("word"), "abc");
  await assert.rejects(redis.incr(key("word")), /ERR value is not an integer or out of range/);
  await assert.rejects(redis.hget(key("word"), "f"), /WRONGTYPE/);
  assert.equal(await redis.get(key("word")), "abc");
});

bridgeTest("a wrong token is rejected", async ({ url, options }) => {
  const intruder = client(url, "not-the-token", options);
  await assert.rejects(intruder.get("anything"), /Unauthorized/);
});

// ---- the bridge's HTTP contract, with raw fetch ----

async function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A test against the bridge with raw HTTP: `call` posts with the right token. */
function protocolTest(
  name: string,
  fn: (
    call: (
      path: string,
      body: unknown,
      headers?: Record<string, string>,
    ) => ReturnType<typeof post>,
    key: (name: string) => string,
    url: string,
  ) => Promise<void>,
) {
  Deno.test(`redis bridge protocol: ${name}`, async () => {
    const endpoint = await testUpstash();
    const prefix = uniquePrefix();
    const auth = { authorization: `Bearer ${endpoint.token}` };
    try {
      await fn(
        (path, body, headers = {}) => post(endpoint.url, path, body, { ...auth, ...headers }),
        (name) => prefix + name,
        endpoint.url,
      );
    } finally {
      await post(endpoint.url, "/", ["eval", CLEANUP, 0, `${prefix}*`], auth);
      await endpoint.close();
    }
  });
}

const CLEANUP = "for _, k in ipairs(redis.call('keys', ARGV[1])) do redis.call('del', k) end";
const BASE64 = { "upstash-encoding": "base64" };

protocolTest("requests without the bearer token get 401", async (_call, _key, url) => {
  assert.deepEqual(await post(url, "/", ["ping"], {}), {
    status: 401,
    body: { error: "Unauthorized" },
  });
  assert.deepEqual(await post(url, "/pipeline", [["ping"]], { authorization: "Bearer nope" }), {
    status: 401,
    body: { error: "Unauthorized" },
  });
});

protocolTest("malformed requests get 400 or 404 JSON errors", async (call) => {
  const rejected = [
    await call("/", "{not json"),
    await call("/", { set: ["k", "v"] }),
    await call("/", []),
    await call("/", ["set", "k", { nested: true }]),
    await call("/pipeline", ["set", "k", "v"]),
    await call("/pipeline", []),
    await call("/multi-exec", [["multi"]]),
    await call("/", ["subscribe", "channel"]),
  ];
  for (const { status, body } of rejected) {
    assert.equal(status, 400);
    assert.match((body as { error: string }).error, /^ERR /);
  }
  const missing = await call("/get/k", ["get", "k"]);
  assert.equal(missing.status, 404);
  assert.match((missing.body as { error: string }).error, /unknown path/);
});

protocolTest("single commands answer result or a 400 error", async (call, key) => {
  assert.deepEqual(await call("/", ["set", key("k"), "v", "PX", 10_000]), {
    status: 200,
    body: { result: "OK" },
  });
  assert.deepEqual(await call("/", ["get", key("k")]), { status: 200, body: { result: "v" } });
  assert.deepEqual(await call("/", ["incrby", key("n"), 5]), { status: 200, body: { result: 5 } });
  assert.deepEqual(await call("/", ["incr", key("k")]), {
    status: 400,
    body: { error: "ERR value is not an integer or out of range" },
  });
});

protocolTest("base64 encodes every string but a top-level OK", async (call, key) => {
  const binary = "return {redis.call('set', KEYS[1], string.char(0, 255, 128, 10)), " +
    "redis.call('get', KEYS[1]), redis.status_reply('OK'), 'PONG', 7, false}";
  assert.deepEqual((await call("/", ["eval", binary, 1, key("bin")], BASE64)).body, {
    result: ["T0s=", "AP+ACg==", "T0s=", "UE9ORw==", 7, null],
  });
  assert.deepEqual((await call("/", ["set", key("s"), "héllo"], BASE64)).body, { result: "OK" });
  assert.deepEqual((await call("/", ["get", key("s")], BASE64)).body, {
    result: btoa(String.fromCharCode(...new TextEncoder().encode("héllo"))),
  });
  assert.deepEqual((await call("/", ["ping"], BASE64)).body, { result: btoa("PONG") });
  assert.deepEqual((await call("/", ["get", key("none")], BASE64)).body, { result: null });
  assert.deepEqual(
    (await call("/pipeline", [["set", key("p"), "x"], ["get", key("p")]], BASE64)).body,
    [
      { result: "OK" },
      { result: btoa("x") },
    ],
  );
  // Without the header the same replies are plain text.
  assert.deepEqual((await call("/", ["ping"])).body, { result: "PONG" });
  assert.deepEqual((await call("/", ["get", key("s")])).body, { result: "héllo" });
});

protocolTest(
  "multi-exec reports per-command errors, and refuses a bad queue whole",
  async (call, key) => {
    assert.deepEqual(
      await call("/multi-exec", [["set", key("w"), "abc"], ["incr", key("w")], ["get", key("w")]]),
      {
        status: 200,
        body: [
          { result: "OK" },
          { error: "ERR value is not an integer or out of range" },
          { result: "abc" },
        ],
      },
    );
    const refused = await call("/multi-exec", [["set", key("never"), "x"], ["set", key("never")]]);
    assert.equal(refused.status, 400);
    assert.match(
      (refused.body as { error: string }).error,
      /^EXECABORT.*command 2: ERR wrong number/,
    );
    assert.deepEqual((await call("/", ["exists", key("never")])).body, { result: 0 });
  },
);

Deno.test("redis bridge protocol: a dead Redis gets a 503, not a hang", async () => {
  const redis = await startRedis();
  const bridge = await startUpstashBridge({ redisPort: redis.port, token: "t" });
  try {
    const auth = { authorization: "Bearer t" };
    assert.deepEqual(await post(bridge.url, "/", ["ping"], auth), {
      status: 200,
      body: { result: "PONG" },
    });
    await redis.stop();
    for (const path of ["/", "/pipeline"]) {
      const body = path === "/" ? ["ping"] : [["ping"]];
      const answer = await post(bridge.url, path, body, auth);
      assert.equal(answer.status, 503);
      assert.match((answer.body as { error: string }).error, /^ERR redis unavailable/);
    }
  } finally {
    await bridge.close();
    await redis.stop();
  }
});

Deno.test("redis bridge protocol: a Redis that never answers gets a 504 after the timeout", async () => {
  // A TCP server that accepts and stays silent, as a hung Redis would.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) accepted.push(conn);
  })();
  const bridge = await startUpstashBridge({
    redisPort: (silent.addr as Deno.NetAddr).port,
    token: "t",
    timeoutMs: 100,
  });
  try {
    const answer = await post(bridge.url, "/", ["ping"], { authorization: "Bearer t" });
    assert.equal(answer.status, 504);
    assert.match((answer.body as { error: string }).error, /did not answer within 100 ms/);
  } finally {
    await bridge.close();
    silent.close();
    await accepting;
    for (const conn of accepted) conn.close();
  }
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
