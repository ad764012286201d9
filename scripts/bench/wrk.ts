/**
 * Load from outside the language under test: `wrk` (Debian's package) for
 * throughput and latency, `curl` for time to first byte (wrk measures whole
 * responses only). Both are installed with apt-get when missing.
 */
import { aptInstall } from "../test/system.ts";

/** One wrk run's figures. */
export interface WrkResult {
  rps: number;
  /** Latency percentiles in ms. */
  p50: number;
  p99: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
}

/** A POST the load sends: where, with which headers and body. */
export interface BenchRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function available(command: string): boolean {
  try {
    new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

/** Installs wrk and curl when the machine lacks them. */
export async function ensureLoadTools(): Promise<void> {
  for (const tool of ["wrk", "curl"]) if (!available(tool)) await aptInstall(tool);
}

const toMs = (value: string, unit: string) =>
  Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit];

/** A wrk Lua script that sends `request`; remove the file when done. */
export async function wrkScript(request: BenchRequest): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".lua" });
  const lines = [
    `wrk.method = "POST"`,
    `wrk.body = ${JSON.stringify(request.body)}`,
    ...Object.entries(request.headers).map(([name, value]) =>
      `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`
    ),
  ];
  await Deno.writeTextFile(path, lines.join("\n"));
  return path;
}

/** Runs wrk with one thread and `connections` connections for `seconds`. */
export async function runWrk(
  url: string,
  script: string,
  connections: number,
  seconds: number,
): Promise<WrkResult> {
  const output = await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const latency = (pct: string) => {
    const match = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(text);
    return match ? toMs(match[1], match[2]) : NaN;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
    .exec(text);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN),
    p50: latency("50"),
    p99: latency("99"),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0) +
      (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
  };
}

/**
 * Time to first byte, in ms, of `count` sequential requests over one
 * connection (one curl process, so no start-up cost is in the figures).
 */
export async function firstByteTimes(request: BenchRequest, count: number): Promise<number[]> {
  const bodyFile = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(bodyFile, request.body);
    const args = [
      "-s",
      "-N",
      "-w",
      "%{time_starttransfer}\\n",
      "--data-binary",
      `@${bodyFile}`,
      ...Object.entries(request.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    ];
    for (let i = 0; i < count; i++) args.push("-o", "/dev/null", request.url);
    const output = await new Deno.Command("curl", { args, stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(output.stdout).trim().split("\n").map((s) => Number(s) * 1000)
      .filter(Number.isFinite);
  } finally {
    await Deno.remove(bodyFile);
  }
}
