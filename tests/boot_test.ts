/**
 * Boot safety: every function starts in a fresh Deno process, with no
 * application env at all and with a full env, and answers its first request;
 * and every function module loads with env and network access denied, which
 * proves nothing reads env or touches the network at import time.
 */
import assert from "node:assert/strict";
import {
  collect,
  freePort,
  functionNames,
  ROOT,
  runtimeOnlyEnv,
  waitForHttp,
} from "./helpers/process.ts";
import { DEV_JWT_SECRET } from "./helpers/tokens.ts";

const FULL_ENV: Record<string, string> = {
  SUPABASE_URL: "http://127.0.0.1:54321",
  SUPABASE_ANON_KEY: "anon-key-for-boot-test",
  SUPABASE_SERVICE_ROLE_KEY: "service-key-for-boot-test",
  SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
  SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
  OPENAI_API_KEY: "sk-boot-test-key",
  OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
  ANTHROPIC_API_KEY: "sk-ant-boot-test-key",
};

/** What each function's first health request must answer with no configuration. */
const UNCONFIGURED_STATUS: Record<string, number> = {
  "ai-chat-direct": 503,
  "ai-walkthrough-direct": 503,
  "llm-health": 200,
  "llm-metrics": 200,
  "llm-router": 200,
};

/** Each function's first request: `/health`, except llm-health, whose liveness is `/live` (its `/health` pings providers). */
const PROBE_PATH: Record<string, string> = { "llm-health": "live" };

async function bootAndProbe(name: string, env: Record<string, string>) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `supabase/functions/${name}/index.ts`,
    ],
    cwd: ROOT,
    clearEnv: true,
    env: { ...runtimeOnlyEnv(), ...env, DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}` },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  try {
    const response = await waitForHttp(
      `http://127.0.0.1:${port}/${name}/${PROBE_PATH[name] ?? "health"}`,
    );
    const body = await response.json();
    return { status: response.status, body, stderr: stderr.text() };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Promise.all([stdout.done, stderr.done]);
  }
}

for (const name of functionNames()) {
  Deno.test(`boot: ${name} starts with no env at all and answers with JSON, not a crash`, async () => {
    const { status, body, stderr } = await bootAndProbe(name, {});
    assert.equal(status, UNCONFIGURED_STATUS[name], JSON.stringify(body));
    if (status === 503) {
      assert.equal(body.error.code, "CONFIG_MISSING");
      assert.ok(body.error.missing.length > 0);
    }
    assert.ok(!/Uncaught|BOOT_ERROR|panicked/.test(stderr), stderr);
  });

  Deno.test(`boot: ${name} starts with a full env and answers 200`, async () => {
    const { status, body } = await bootAndProbe(name, FULL_ENV);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, "ok");
  });

  Deno.test(`boot: ${name} loads with env and network denied (no env read or I/O at import time)`, async () => {
    const entry = `${ROOT}/supabase/functions/${name}/index.ts`;
    const probe = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(
      probe,
      `const m = await import(${JSON.stringify(`file://${entry}`)});\n` +
        `if (typeof m.handler !== "function") throw new Error("no handler export");\n` +
        `console.log("loaded");\n`,
    );
    try {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--deny-env",
          "--deny-net",
          "--allow-read",
          "--config",
          `${ROOT}/deno.json`,
          probe,
        ],
        cwd: ROOT,
        clearEnv: true,
        env: runtimeOnlyEnv(),
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      assert.equal(new TextDecoder().decode(output.stdout).trim(), "loaded");
    } finally {
      await Deno.remove(probe);
    }
  });
}
