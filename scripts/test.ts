/**
 * `deno task test`: everything CI checks, on a fresh machine as on a warm one.
 *   1. `deno lint` and `deno fmt --check`;
 *   2. a throwaway PostgreSQL server on a loopback port in a temp dir
 *      (installed from Debian's packages first if it is missing);
 *   3. `deno test` over tests/, with TEST_DATABASE_URL pointing at it;
 *   4. the server stopped and its files removed, whatever happened.
 * Extra arguments go to `deno test` (e.g. `--filter jobs`).
 */
import { startPostgres } from "./test/postgres.ts";

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

const postgres = await startPostgres();
let code = 1;
try {
  code = await run(["test", "--allow-all", ...Deno.args, "tests/"], {
    TEST_DATABASE_URL: postgres.url,
  });
} finally {
  await postgres.stop();
}
Deno.exit(code);
