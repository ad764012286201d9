/**
 * llm-router alone in its own process, for tests that measure the process
 * (memory): no embedded database, no mock provider in the same heap. Env as
 * the function reads it, plus ROUTER_PORT; prints "Ready." when it listens.
 *
 * Run: `deno run --allow-all tests/helpers/router-server.ts`
 */
import { createRouterApp } from "../../supabase/functions/llm-router/app.ts";
import { processEnv } from "../../supabase/functions/_shared/runtime/env.ts";
import { MemoryStateStore } from "../../supabase/functions/_shared/store/state-store.ts";
import { testLogger } from "./logs.ts";

if (import.meta.main) {
  const env = processEnv();
  const app = createRouterApp({
    env,
    log: testLogger("llm-router"),
    store: new MemoryStateStore(),
  });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: Number(env("ROUTER_PORT") ?? 0),
    onListen: () => console.log("Ready."),
  }, app);
  Deno.addSignalListener("SIGTERM", async () => {
    await server.shutdown();
    await app.close();
    Deno.exit(0);
  });
}
