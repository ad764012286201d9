/**
 * `deno task test`: everything CI checks, on a fresh machine as on a warm one.
 *   1. `deno lint` and `deno fmt --check`;
 *   2. a throwaway PostgreSQL server and a throwaway redis-server, each on a
 *      loopback port in a temp dir (installed from Debian's packages first if
 *      missing), Redis behind the Upstash REST bridge (scripts/redis/bridge.ts),
 *      and Debian's Chromium for the console's browser test (installed if missing);
 *   3. `deno test` over tests/, with TEST_DATABASE_URL, TEST_UPSTASH_URL and
 *      TEST_UPSTASH_TOKEN pointing at them, and TEST_LOG_FILE collecting every
 *      log line the functions write;
 *   4. those log lines scanned for secrets (any found fails the run);
 *   5. the servers stopped and their files removed, whatever happened.
 * Extra arguments go to `deno test` (e.g. `--filter jobs`).
 */
import { startPostgres } from "./test/postgres.ts";
import { scanSuiteLogs } from "./test/log-scan.ts";
import { startTestUpstash, type TestUpstash } from "./test/redis.ts";
import { ensureChromium } from "./test/chromium.ts";

async function run(args: string[], env: Record<string, string> = {}): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

for (const check of [["lint"], ["fmt", "--check"]]) {
  const code = await run(check);
  if (code !== 0) Deno.exit(code);
}

// Installed before the run, so no test's time includes a package download.
await ensureChromium();
const postgres = await startPostgres();
const logFile = await Deno.makeTempFile({ prefix: "llm-gateway-test-logs-" });
let upstash: TestUpstash | undefined;
let code = 1;
try {
  upstash = await startTestUpstash();
  code = await run(["test", "--allow-all", ...Deno.args, "tests/"], {
    TEST_DATABASE_URL: postgres.url,
    TEST_UPSTASH_URL: upstash.url,
    TEST_UPSTASH_TOKEN: upstash.token,
    TEST_LOG_FILE: logFile,
  });
  // Every log line the suite's functions wrote, scanned for secrets once all tests ran.
  if ((await scanSuiteLogs(logFile, "tests")).length > 0 && code === 0) code = 1;
} finally {
  await upstash?.stop();
  await postgres.stop();
  await Deno.remove(logFile).catch(() => {});
}
Deno.exit(code);
