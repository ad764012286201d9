/** The bench's server processes: started, awaited until they answer, measured, stopped. */

const ROOT = new URL("../../", import.meta.url).pathname;

/** A started server. */
export interface BenchProcess {
  pid: number;
  /** Whether it is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts `deno run -A [denoFlags] script [args]` with `env` and waits until
 * `readyUrl` answers (any status). Its output is discarded: a terminal
 * printing a log line per request would be measured instead of the server.
 */
export async function startDeno(
  script: string,
  env: Record<string, string>,
  readyUrl: string,
  options: { args?: string[]; denoFlags?: string[] } = {},
): Promise<BenchProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(options.denoFlags ?? []), script, ...(options.args ?? [])],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.then(() => (exited = true));
  const deadline = Date.now() + 60_000;
  while (true) {
    try {
      const response = await fetch(readyUrl);
      await response.body?.cancel();
      break;
    } catch {
      if (exited || Date.now() > deadline) throw new Error(`${script} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    pid: child.pid,
    alive: () => !exited,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await status;
    },
  };
}

/** Peak resident memory (VmHWM) of `pid` in MB, from /proc. */
export function peakRssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * Milliseconds from spawning `deno run -A script` to its first successful
 * answer to `request` (polled every 2 ms): a fresh process's start-up as a
 * caller feels it. The process is stopped afterwards.
 */
export async function firstAnswerMs(
  script: string,
  env: Record<string, string>,
  request: { url: string; init: RequestInit },
  args: string[] = [],
): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    while (performance.now() - started < 60_000) {
      try {
        const response = await fetch(request.url, request.init);
        await response.arrayBuffer();
        if (response.ok) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error(`${script} gave no answer within 60 s`);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}
