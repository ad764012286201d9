/**
 * One ai-chat-direct for `scripts/bench/direct-guards.ts`: the real handler
 * on `PORT`, configured by the process env. With `BENCH_DB=pglite` it gets an
 * in-memory database holding a budget for the local account that the load
 * never spends, so every request holds it, settles it and writes its
 * llm_usage row, as in production.
 */
import { createDirectHandler } from "../../supabase/functions/_shared/direct/handler.ts";
import { processEnv } from "../../supabase/functions/_shared/runtime/env.ts";
import { jsonLogger } from "../../supabase/functions/_shared/runtime/log.ts";
import { chatDirectSpec } from "../../supabase/functions/ai-chat-direct/index.ts";
import { embeddedDb } from "../db/embedded-db.ts";
import { LOCAL_ACCOUNT_ID } from "../dev/local-keys.ts";

const env = processEnv();
const db = env("BENCH_DB") === "pglite" ? embeddedDb() : undefined;
if (db) {
  await db.query(
    "insert into llm_budgets (account_id, daily_limit_usd, monthly_limit_usd) values ($1, 1000000, 10000000)",
    [LOCAL_ACCOUNT_ID],
  );
}
// Errors only: a log line per request would measure the terminal, not the guards.
const log = jsonLogger("ai-chat-direct", (level, line) => level === "error" && console.error(line));
const handler = createDirectHandler(chatDirectSpec, { env, log, db });
Deno.serve({ hostname: "127.0.0.1", port: Number(env("PORT")), onListen: () => {} }, handler);
