/**
 * A throwaway redis-server for the test suite: Debian's binary (installed
 * with apt-get when missing), a free loopback port, a temp dir, no
 * persistence. `startTestUpstash` puts the Upstash REST bridge in front of it,
 * which is how tests reach it through `@upstash/redis`.
 */
import { aptInstall, freePort } from "./system.ts";
import { startUpstashBridge } from "../redis/bridge.ts";
import { RespConnection } from "../redis/resp.ts";

/** A running test redis-server. */
export interface TestRedis {
  port: number;
  /** Kills the server and removes its files. */
  stop(): Promise<void>;
}

/** A test redis-server behind the Upstash REST bridge. */
export interface TestUpstash {
  /** The bridge's URL, for `new Redis({ url, token })`. */
  url: string;
  token: string;
  /** The redis-server's own port, for tests that talk RESP directly. */
  redisPort: number;
  /** Closes the bridge, then stops the server. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

function findRedisServer(): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  for (const dir of [...dirs, "/usr/bin", "/usr/sbin"]) {
    try {
      if (Deno.statSync(`${dir}/redis-server`).isFile) return `${dir}/redis-server`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The redis-server binary, installing Debian's package if there is none. */
async function redisServerBinary(): Promise<string> {
  const found = findRedisServer();
  if (found) return found;
  console.error("redis-server is not installed: installing Debian's redis-server package…");
  await aptInstall("redis-server");
  const installed = findRedisServer();
  if (!installed) {
    throw new Error("apt-get installed redis-server but no redis-server binary was found");
  }
  return installed;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** True once `PING` on `port` answers PONG. */
async function pings(port: number): Promise<boolean> {
  let conn: RespConnection | undefined;
  try {
    conn = await RespConnection.connect({ port });
    const [answer] = await conn.send([["PING"]]);
    return answer === "PONG";
  } catch {
    return false;
  } finally {
    await conn?.close();
  }
}

/** Starts a fresh redis-server; `stop()` kills it and removes its files. */
export async function startRedis(): Promise<TestRedis> {
  const bin = await redisServerBinary();
  const dir = await Deno.makeTempDir({ prefix: "llm-gateway-redis-" });
  const port = freePort();
  const child = new Deno.Command(bin, {
    args: [
      ...["--port", String(port), "--bind", "127.0.0.1"],
      ...["--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Drained all along so a chatty server never blocks on a full pipe, and kept for error messages.
  const output = Promise.all([collect(child.stdout), collect(child.stderr)])
    .then(([out, err]) => out + err);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch {
        // it exited meanwhile
      }
    }
    await status;
    await output;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await pings(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      const why = exited
        ? "exited before answering PING"
        : `did not answer PING within ${START_TIMEOUT_MS} ms`;
      throw new Error(`redis-server on port ${port} ${why}:\n${(await output).slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { port, stop };
}

/** A fresh redis-server behind an Upstash REST bridge with a random token. */
export async function startTestUpstash(): Promise<TestUpstash> {
  const redis = await startRedis();
  try {
    const bridge = await startUpstashBridge({ redisPort: redis.port, token: crypto.randomUUID() });
    return {
      url: bridge.url,
      token: bridge.token,
      redisPort: redis.port,
      async stop() {
        try {
          await bridge.close();
        } finally {
          await redis.stop();
        }
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}
