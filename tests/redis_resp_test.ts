/**
 * The RESP2 client under the Upstash bridge: the parser on hand-made byte
 * streams cut at every possible place, and a connection against a real
 * redis-server (pipelining, concurrent callers, errors as values, big binary
 * values, a server that dies).
 */
import assert from "node:assert/strict";
import {
  encodeCommands,
  RespConnection,
  RespError,
  RespParser,
  type RespReply,
} from "../scripts/redis/resp.ts";
import { startRedis } from "../scripts/test/redis.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

const MIXED_STREAM = "+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$5\r\nhe\r\no\r\n$-1\r\n$0\r\n\r\n" +
  "*-1\r\n*0\r\n*3\r\n:1\r\n*2\r\n$1\r\na\r\n+b\r\n$-1\r\n";
const MIXED_REPLIES: RespReply[] = [
  "OK",
  new RespError("ERR bad thing"),
  42,
  -7,
  bytes("he\r\no"),
  null,
  bytes(""),
  null,
  [],
  [1, [bytes("a"), "b"], null],
];

function feed(parser: RespParser, data: Uint8Array, cuts: number[]): RespReply[] {
  const replies: RespReply[] = [];
  let from = 0;
  for (const cut of [...cuts, data.length]) {
    replies.push(...parser.push(data.subarray(from, cut)));
    from = cut;
  }
  return replies;
}

Deno.test("redis resp: every reply type parses, in one piece and split at every byte", () => {
  const data = bytes(MIXED_STREAM);
  assert.deepEqual(new RespParser().push(data), MIXED_REPLIES);
  const everyByte = Array.from({ length: data.length - 1 }, (_, i) => i + 1);
  assert.deepEqual(feed(new RespParser(), data, everyByte), MIXED_REPLIES);
  for (let cut = 1; cut < data.length; cut++) {
    assert.deepEqual(feed(new RespParser(), data, [cut]), MIXED_REPLIES, `cut at ${cut}`);
  }
});

Deno.test("redis resp: a large bulk string and a large array survive arbitrary chunking", () => {
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 256);
  const header = bytes(`*2\r\n$${big.length}\r\n`);
  const items = Array.from({ length: 20_000 }, (_, i) => `:${i}\r\n`).join("");
  const tail = bytes(`\r\n*20000\r\n${items}`);
  const data = new Uint8Array(header.length + big.length + tail.length);
  data.set(header);
  data.set(big, header.length);
  data.set(tail, header.length + big.length);
  // Tiny and large reads mixed, so headers, bodies and CRLFs all get cut somewhere.
  const sizes = [1, 7, 4096, 65_536, 3, 100_000, 2];
  const cuts: number[] = [];
  for (let at = sizes[0], i = 1; at < data.length; at += sizes[i++ % sizes.length]) cuts.push(at);
  const [reply, ...rest] = feed(new RespParser(), data, cuts);
  assert.equal(rest.length, 0);
  assert.ok(Array.isArray(reply));
  assert.deepEqual(reply[0], big);
  assert.deepEqual(reply[1], Array.from({ length: 20_000 }, (_, i) => i));
});

Deno.test("redis resp: garbage on the wire is a protocol error, not a silent misread", () => {
  assert.throws(() => new RespParser().push(bytes("?what\r\n")), /protocol error/);
  assert.throws(() => new RespParser().push(bytes(":12x\r\n")), /bad integer/);
  assert.throws(() => new RespParser().push(bytes("$2\r\nabcd\r\n")), /CRLF/);
});

Deno.test("redis resp: commands encode as arrays of bulk strings, lengths in bytes", () => {
  assert.equal(
    new TextDecoder().decode(encodeCommands([["SET", "k", 1], ["GET", "é"]])),
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$2\r\né\r\n",
  );
  assert.throws(() => encodeCommands([[]]), /at least a name/);
});

Deno.test("redis resp: a connection pipelines, answers concurrent callers in order, errors are values", async () => {
  const redis = await startRedis();
  const conn = await RespConnection.connect({ port: redis.port });
  try {
    const replies = await conn.send([
      ["SET", "k", "abc"],
      ["INCR", "k"],
      ["GET", "k"],
      ["GET", "missing"],
      ["RPUSH", "list", "a", "b"],
      ["LRANGE", "list", 0, -1],
    ]);
    assert.deepEqual(replies, [
      "OK",
      new RespError("ERR value is not an integer or out of range"),
      bytes("abc"),
      null,
      2,
      [bytes("a"), bytes("b")],
    ]);

    const batches = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => conn.send([["INCR", "counter"], ["ECHO", `caller ${i}`]]),
      ),
    );
    batches.forEach(([count, echo], i) => {
      assert.equal(count, i + 1);
      assert.deepEqual(echo, bytes(`caller ${i}`));
    });
    assert.equal(conn.inFlight, 0);
  } finally {
    await conn.close();
    await redis.stop();
  }
});

Deno.test("redis resp: a 5 MB binary value round-trips byte for byte", async () => {
  const redis = await startRedis();
  const conn = await RespConnection.connect({ port: redis.port });
  try {
    const value = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31 + 7) % 256);
    const [set, got, length] = await conn.send([["SET", "blob", value], ["GET", "blob"], [
      "STRLEN",
      "blob",
    ]]);
    assert.equal(set, "OK");
    assert.deepEqual(got, value);
    assert.equal(length, value.length);
  } finally {
    await conn.close();
    await redis.stop();
  }
});

Deno.test("redis resp: when Redis dies, waiting and later callers are rejected instead of hanging", async () => {
  const redis = await startRedis();
  const conn = await RespConnection.connect({ port: redis.port });
  const observer = await RespConnection.connect({ port: redis.port });
  try {
    // A BLPOP on an empty list keeps this reply outstanding until the server is killed.
    const waiting = conn.send([["BLPOP", "nothing", 0]]);
    const rejected = assert.rejects(waiting, /Redis (closed the connection|connection failed)/);
    while (!new TextDecoder().decode(await info(observer)).includes("blocked_clients:1")) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await redis.stop();
    await rejected;
    assert.equal(conn.closed, true);
    await assert.rejects(conn.send([["PING"]]), /Redis/);
    await assert.rejects(observer.send([["PING"]]), /Redis/);
  } finally {
    await conn.close();
    await observer.close();
    await redis.stop();
  }
});

async function info(conn: RespConnection): Promise<Uint8Array> {
  const [reply] = await conn.send([["INFO", "clients"]]);
  assert.ok(reply instanceof Uint8Array);
  return reply;
}
