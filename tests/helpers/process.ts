/** Starting Deno subprocesses for tests that need a fresh process. */
import { keepSuiteLogs } from "./logs.ts";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Every function directory under supabase/functions (not `_shared`). */
export function functionNames(): string[] {
  return [...Deno.readDirSync(`${ROOT}/supabase/functions`)]
    .filter((entry) => entry.isDirectory && !entry.name.startsWith("_"))
    .map((entry) => entry.name)
    .sort();
}

/** A TCP port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * The variables the Deno binary itself needs (module cache, home), and
 * nothing an application would read: used for "no env at all" runs.
 */
export function runtimeOnlyEnv(): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/root";
  return {
    HOME: home,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`,
    NO_COLOR: "1",
  };
}

/** Polls `url` until it answers (any status) or `ms` pass. */
export async function waitForHttp(url: string, ms = 20_000): Promise<Response> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await fetch(url);
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not answer within ${ms} ms: ${lastError}`);
}

/** Reads a child's stream to text in the background. */
export function collect(
  stream: ReadableStream<Uint8Array>,
): { text: () => string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

/** A running `scripts/dev.ts` server. */
export interface DevProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** What it printed up to "Ready.". */
  output: string;
  stop(): Promise<void>;
}

/**
 * Starts the dev server in a fresh process with only `env` (plus what Deno
 * needs), on a free port, and waits for its "Ready." line. `viaTask` runs it
 * as a newcomer does, through `deno task dev`.
 */
export async function startDevProcess(
  env: Record<string, string>,
  options: { viaTask?: boolean } = {},
): Promise<DevProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: options.viaTask ? ["task", "dev"] : ["run", "--allow-all", "scripts/dev.ts"],
    cwd: ROOT,
    clearEnv: true,
    env: { ...runtimeOnlyEnv(), ...env, DEV_PORT: String(port) },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const deadline = Date.now() + 30_000;
  while (!stdout.text().includes("Ready.")) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await child.status;
      await Promise.all([stdout.done, stderr.done]);
      throw new Error(`dev server did not start:\n${stdout.text()}\n${stderr.text()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    output: stdout.text(),
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([stdout.done, stderr.done]);
      keepSuiteLogs(stderr.text() + stdout.text());
    },
  };
}
