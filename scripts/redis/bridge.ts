/**
 * A loopback stand-in for Upstash's Redis REST API in front of a real
 * redis-server, so `@upstash/redis` runs unchanged in tests and local dev:
 *   POST /            one command as a JSON array   → {"result"} | 400 {"error"}
 *   POST /pipeline    an array of commands          → [{"result"} | {"error"}, …]
 *   POST /multi-exec  the same, inside MULTI/EXEC   → [{"result"} | {"error"}, …]
 * With `Upstash-Encoding: base64` (the client's default) strings in results
 * are base64, which is how binary values survive JSON.
 *
 * CLI: `deno run --allow-net scripts/redis/bridge.ts --redis-port 6379 --port 8079 --token dev`
 */
import { parseArgs } from "node:util";
import { type RespArg, RespConnection, RespError, type RespReply } from "./resp.ts";
import { errorMessage } from "../../supabase/functions/_shared/runtime/error-message.ts";

/** Where to listen and which Redis to forward to. */
export interface UpstashBridgeOptions {
  /** The redis-server's port on 127.0.0.1. */
  redisPort: number;
  /** The bearer token clients must present. */
  token: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  hostname?: "127.0.0.1";
  /** Pipelined Redis connections to spread requests over (default 4). */
  connections?: number;
  /** An unanswered request fails with 504 after this many ms (default 30 000). */
  timeoutMs?: number;
}

/** A running bridge: pass `url` and `token` to `new Redis({ url, token })`. */
export interface UpstashBridge {
  url: string;
  token: string;
  /** Stops listening, waits for requests in flight, closes the Redis connections. */
  close(): Promise<void>;
}

/** The JSON shape of one reply. */
type Json = null | number | string | Json[] | { error: string };

/** One entry of a /pipeline or /multi-exec answer. */
type Entry = { result: Json } | { error: string };

/** A request the bridge refuses before it reaches Redis (400). */
class BadRequest extends Error {}

/** Redis did not answer in time (504). */
class Timeout extends Error {}

// A pooled connection is shared by every request: commands that change its
// state (a dangling MULTI, a subscription, another database, replies turned
// off) would corrupt the answers of requests that have nothing to do with them.
const SHARED_CONNECTION_BREAKERS = new Set([
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "select",
  "client",
  "hello",
  "auth",
  "reset",
  "quit",
  "sync",
  "psync",
  "replconf",
]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts a bridge to the redis-server on `127.0.0.1:redisPort`. */
export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const hostname = options.hostname ?? "127.0.0.1";
  const pool = new RespPool(
    options.redisPort,
    options.connections ?? 4,
    options.timeoutMs ?? 30_000,
  );
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname, port: options.port ?? 0, onListen: () => resolve() },
    (request) => handle(request, options.token, pool),
  );
  await listening;
  return {
    url: `http://${hostname}:${server.addr.port}`,
    token: options.token,
    async close() {
      await server.shutdown();
      await pool.close();
    },
  };
}

async function handle(request: Request, token: string, pool: RespPool): Promise<Response> {
  if (request.headers.get("authorization") !== `Bearer ${token}`) {
    return reply(401, { error: "Unauthorized" });
  }
  const { pathname } = new URL(request.url);
  if (pathname !== "/" && pathname !== "/pipeline" && pathname !== "/multi-exec") {
    return reply(404, { error: `ERR unknown path ${pathname}` });
  }
  if (request.method !== "POST") return reply(405, { error: "ERR use POST" });
  const base64 = request.headers.get("upstash-encoding")?.toLowerCase() === "base64";
  try {
    const body = await readJson(request);
    if (pathname === "/") {
      const [answer] = await pool.send([command(body)]);
      if (answer instanceof RespError) return reply(400, { error: answer.message });
      return reply(200, { result: toJson(answer, base64, true) });
    }
    const commands = batch(body);
    if (pathname === "/pipeline") {
      const answers = await pool.send(commands);
      return reply(200, answers.map((answer) => entry(answer, base64)));
    }
    return await multiExec(pool, commands, base64);
  } catch (error) {
    if (error instanceof BadRequest) return reply(400, { error: error.message });
    const message = errorMessage(error);
    if (error instanceof Timeout) return reply(504, { error: `ERR ${message}` });
    return reply(503, { error: `ERR redis unavailable: ${message}` });
  }
}

/** MULTI, the commands and EXEC go out as one batch, so nothing else on the connection lands in between. */
async function multiExec(pool: RespPool, commands: RespArg[][], base64: boolean) {
  const answers = await pool.send([["MULTI"], ...commands, ["EXEC"]]);
  const exec = answers.at(-1);
  if (Array.isArray(exec)) return reply(200, exec.map((answer) => entry(answer, base64)));
  // EXECABORT: a command was refused while queueing (unknown, wrong arity); say which.
  const refused = answers.slice(1, -1).flatMap((answer, i) =>
    answer instanceof RespError ? [`command ${i + 1}: ${answer.message}`] : []
  );
  const reason = exec instanceof RespError ? exec.message : "ERR transaction aborted";
  return reply(400, { error: [reason, ...refused].join("; ") });
}

async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest(`ERR failed to parse command: body is not JSON: ${text.slice(0, 100)}`);
  }
}

function command(value: unknown): RespArg[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest("ERR a command must be a non-empty JSON array");
  }
  const args = value.map((arg): string => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new BadRequest(
      `ERR command arguments must be strings or numbers, got ${JSON.stringify(arg)}`,
    );
  });
  const name = args[0].toLowerCase();
  if (SHARED_CONNECTION_BREAKERS.has(name)) {
    throw new BadRequest(`ERR ${name} is not supported by the Upstash bridge`);
  }
  return args;
}

function batch(value: unknown): RespArg[][] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest("ERR a pipeline must be a non-empty JSON array of commands");
  }
  return value.map(command);
}

function entry(answer: RespReply, base64: boolean): Entry {
  return answer instanceof RespError
    ? { error: answer.message }
    : { result: toJson(answer, base64, true) };
}

/**
 * One reply as JSON. The client's base64 `decode` leaves numbers and null
 * alone, keeps a top-level "OK" as is, and base64-decodes every other string,
 * simple strings included (falling back to the raw text only when it is not
 * valid base64, and "PONG" or "string" are valid). So under base64 every
 * string is encoded except a top-level "OK" status; inside arrays even "OK" is
 * encoded, because the client decodes array elements unconditionally.
 */
function toJson(answer: RespReply, base64: boolean, topLevel: boolean): Json {
  if (answer === null || typeof answer === "number") return answer;
  if (answer instanceof RespError) return { error: answer.message };
  if (Array.isArray(answer)) return answer.map((item) => toJson(item, base64, false));
  if (typeof answer === "string") {
    return base64 && !(topLevel && answer === "OK") ? toBase64(encoder.encode(answer)) : answer;
  }
  return base64 ? toBase64(answer) : decoder.decode(answer);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  // In slices: spreading a huge array into one call overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function reply(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

/**
 * A few pipelined connections, opened on first use. Each batch goes to the
 * least busy one; a dead connection is replaced by the next request that
 * picks it, so a restarted Redis is picked up and a dead one fails fast.
 */
class RespPool {
  #slots: { conn?: Promise<RespConnection>; busy: number }[];

  constructor(readonly port: number, size: number, readonly timeoutMs: number) {
    this.#slots = Array.from({ length: Math.max(1, size) }, () => ({ busy: 0 }));
  }

  async send(commands: RespArg[][]): Promise<RespReply[]> {
    const slot = this.#slots.reduce((best, next) => next.busy < best.busy ? next : best);
    slot.busy++;
    try {
      const conn = await this.#connection(slot);
      return await withDeadline(conn.send(commands), this.timeoutMs, () => void conn.close());
    } finally {
      slot.busy--;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map(async (slot) => {
      const conn = await slot.conn?.catch(() => undefined);
      await conn?.close();
    }));
  }

  async #connection(slot: { conn?: Promise<RespConnection> }): Promise<RespConnection> {
    const current = slot.conn;
    const conn = await current?.catch(() => undefined);
    if (conn && !conn.closed) return conn;
    // Only the first request to notice replaces it; the others await that replacement.
    if (slot.conn === current) slot.conn = RespConnection.connect({ port: this.port });
    return await slot.conn!;
  }
}

/** `work`, or a Timeout after `ms`; `onTimeout` drops the connection, whose late replies would be unmatchable. */
async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected first, so the race reports the timeout, not the closed connection it causes.
      reject(new Timeout(`Redis did not answer within ${ms} ms`));
      onTimeout();
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "redis-port": { type: "string", default: "6379" },
      port: { type: "string", default: "8079" },
      token: { type: "string", default: "dev" },
    },
  });
  const bridge = await startUpstashBridge({
    redisPort: Number(values["redis-port"]),
    port: Number(values.port),
    token: values.token,
  });
  console.log(
    `Upstash REST bridge on ${bridge.url} (token ${bridge.token}) → redis 127.0.0.1:${
      values["redis-port"]
    }`,
  );
}
