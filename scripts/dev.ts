/**
 * `deno task dev`: serves all five functions at
 * `http://127.0.0.1:54321/functions/v1/<name>`, with the URLs, request shapes
 * and env names of `supabase functions serve`, on embedded defaults.
 *
 * With no provider key in the environment it starts the mock provider and
 * points OPENAI_BASE_URL / ANTHROPIC_BASE_URL at it; with keys set it uses the
 * real providers. Without SUPABASE_DB_URL, llm-router gets an in-memory PGlite
 * with the migrations and seed applied. It prints local keys and curls.
 * It serves the console page (shared/console) at `/`, bundled at start and
 * cached (scripts/dev/console-assets.ts).
 *
 * Settings: DEV_PORT (default 54321), DEV_HOSTNAME (default 127.0.0.1).
 *
 * Slow clients: request bodies have a deadline in every function
 * (LLM_BODY_TIMEOUT_MS, 408), but Deno.serve offers no header timeout (none
 * in its options; checked with Deno 2.9: headers trickled for 50 s were still
 * accepted), so a non-loopback DEV_HOSTNAME prints a warning.
 */
import { chatDirectSpec } from "../supabase/functions/ai-chat-direct/index.ts";
import { walkthroughDirectSpec } from "../supabase/functions/ai-walkthrough-direct/index.ts";
import { createDirectHandler } from "../supabase/functions/_shared/direct/handler.ts";
import { createHealthApp } from "../supabase/functions/llm-health/app.ts";
import { createMetricsApp } from "../supabase/functions/llm-metrics/app.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { stateStoreKind } from "../supabase/functions/_shared/store/from-env.ts";
import { createRouterApp } from "../supabase/functions/llm-router/app.ts";
import { processEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { jsonLogger } from "../supabase/functions/_shared/runtime/log.ts";
import { startMockProvider } from "./mock-provider.ts";
import { embeddedDb } from "./db/embedded-db.ts";
import { LOCAL_JWT_SECRET, localKeys } from "./dev/local-keys.ts";
import { configuredProviders } from "./dev/provider-env.ts";
import { devConsole } from "./dev/console-assets.ts";
import { createLocalAuth, localAuthLines, withLocalAuth } from "./dev/local-auth.ts";

type Handler = (request: Request) => Promise<Response>;

/** Routes `/functions/v1/<name>/...` to the function's handler, as the Supabase gateway does. */
export function functionRouter(functions: Record<string, Handler>): Handler {
  return (request) => {
    const match = /^\/functions\/v1\/([\w-]+)(\/.*)?$/.exec(new URL(request.url).pathname);
    const handler = match ? functions[match[1]] : undefined;
    if (handler) return handler(request);
    const names = Object.keys(functions).join(",");
    return Promise.resolve(
      Response.json({
        error: { code: "NOT_FOUND", message: `No function here. Try /functions/v1/{${names}}` },
      }, {
        status: 404,
      }),
    );
  };
}

/** Whether `hostname` is reachable from this machine only. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname === "[::1]" ||
    hostname.startsWith("127.");
}

function setDefault(name: string, value: string): void {
  if (!Deno.env.get(name)) Deno.env.set(name, value);
}

function randomMasterKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

async function main(): Promise<void> {
  const env = processEnv();
  const hostname = env("DEV_HOSTNAME") ?? "127.0.0.1";
  const port = Number(env("DEV_PORT") ?? 54321);
  const apiUrl = `http://${hostname}:${port}`;

  const usingDevSecret = !env("SUPABASE_JWT_SECRET") ||
    env("SUPABASE_JWT_SECRET") === LOCAL_JWT_SECRET;
  setDefault("SUPABASE_URL", apiUrl);
  setDefault("SUPABASE_JWT_SECRET", LOCAL_JWT_SECRET);
  // Local webhook receivers (alerts) are plain http on this machine.
  setDefault("LLM_ALLOW_HTTP_WEBHOOKS", "loopback");
  const keys = usingDevSecret
    ? await localKeys({ issuer: `${env("SUPABASE_URL")}/auth/v1` })
    : undefined;
  if (keys) {
    setDefault("SUPABASE_ANON_KEY", keys.anonKey);
    setDefault("SUPABASE_SERVICE_ROLE_KEY", keys.serviceRoleKey);
  }

  const lines: string[] = [];
  const database = env("SUPABASE_DB_URL") ? undefined : embeddedDb();
  if (database) {
    // Keys stored in an in-memory database die with it, so a throwaway master key is enough.
    setDefault("LLM_KEY_ENCRYPTION_KEYS", `dev:${randomMasterKey()}`);
    setDefault("LLM_JOB_SECRET", crypto.randomUUID());
  }
  let providers = configuredProviders(env);
  if (providers.length === 0) {
    const mock = await startMockProvider({ port: Number(env("MOCK_PROVIDER_PORT") ?? 0) });
    Deno.env.set("OPENAI_API_KEY", "sk-mock-local-dev");
    Deno.env.set("OPENAI_BASE_URL", mock.openaiBaseUrl);
    Deno.env.set("ANTHROPIC_API_KEY", "sk-ant-mock-local-dev");
    Deno.env.set("ANTHROPIC_BASE_URL", mock.anthropicBaseUrl);
    lines.push(
      `No provider key in the environment: using the mock provider at ${mock.url} (OPENAI_BASE_URL and ANTHROPIC_BASE_URL point at it; set OPENAI_API_KEY etc. to use real providers).`,
    );
    providers = configuredProviders(env);
  }

  // When env picks no shared store (LLM_STATE_STORE: Upstash or Postgres), the functions of this
  // one process share one in-memory store, as isolates sharing one would: llm-metrics reads what
  // llm-router counted. Each function logs its own warnings about the choice.
  const store = stateStoreKind(env, true, []) === "memory" ? new MemoryStateStore() : undefined;
  const functions: Record<string, Handler> = {
    // The direct functions share the router's database and store, so their spend counts
    // against the same budgets, as it does deployed.
    "ai-chat-direct": createDirectHandler(chatDirectSpec, {
      env,
      log: jsonLogger("ai-chat-direct"),
      db: database,
      store,
    }),
    "ai-walkthrough-direct": createDirectHandler(walkthroughDirectSpec, {
      env,
      log: jsonLogger("ai-walkthrough-direct"),
      db: database,
      store,
    }),
    "llm-router": createRouterApp({ env, log: jsonLogger("llm-router"), db: database, store }),
    "llm-health": createHealthApp({ env, log: jsonLogger("llm-health"), db: database, store }),
    "llm-metrics": createMetricsApp({ env, log: jsonLogger("llm-metrics"), db: database, store }),
  };
  // The console page at `/` (built in the background; cached between runs).
  const consolePage = devConsole({
    anonKey: env("SUPABASE_ANON_KEY"),
    localDev: keys !== undefined,
    onBuildError: (message) => console.error(`The console could not be built: ${message}`),
  });
  let server: Deno.HttpServer;
  try {
    // Supabase Auth's stand-in only with the local secret: its users' password is public.
    const auth = keys
      ? createLocalAuth({ secret: LOCAL_JWT_SECRET, issuer: `${env("SUPABASE_URL")}/auth/v1` })
      : undefined;
    const functionRoutes = functionRouter(functions);
    const routes: Handler = (request) => consolePage(request) ?? functionRoutes(request);
    server = Deno.serve(
      { hostname, port, onListen: () => {} },
      auth ? withLocalAuth(auth, routes) : routes,
    );
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(
        `Port ${port} on ${hostname} is already in use (another \`deno task dev\` or \`supabase start\`?). Stop it, or set DEV_PORT.`,
      );
      Deno.exit(1);
    }
    throw error;
  }
  // PGlite takes a few seconds to start: begin now rather than on the first request.
  database?.warm().catch((error) => console.error(`embedded database failed: ${error}`));

  lines.push("", `LLM gateway (local) on ${apiUrl}`, "", `Console: ${apiUrl}/`, "", "Functions:");
  for (const name of Object.keys(functions)) lines.push(`  ${apiUrl}/functions/v1/${name}`);
  lines.push("", "Providers:");
  for (const p of providers) {
    lines.push(
      `  ${p.name.padEnd(11)} key ${p.maskedKey}${p.baseUrl ? `  base ${p.baseUrl}` : ""}`,
    );
  }
  lines.push(
    "",
    `Database: ${
      database
        ? "embedded PGlite, in memory (migrations and seed applied; set SUPABASE_DB_URL for Postgres)"
        : "SUPABASE_DB_URL"
    }`,
    "",
  );
  if (keys) {
    lines.push(
      `JWT secret:       ${LOCAL_JWT_SECRET}`,
      `anon key:         ${keys.anonKey}`,
      `service_role key: ${keys.serviceRoleKey}`,
      `user token:       ${keys.userToken}`,
      `admin token:      ${keys.adminToken}`,
      "",
      ...localAuthLines(apiUrl),
      "",
      "Stream a reply:",
      `  curl -N ${apiUrl}/functions/v1/ai-chat-direct \\`,
      `    -H "Authorization: Bearer ${keys.userToken}" \\`,
      `    -H "Content-Type: application/json" \\`,
      `    -d '{"messages":[{"role":"user","content":"Hello!"}]}'`,
      "",
      "Ask the router (native API; its OpenAI-compatible API is at .../llm-router/v1 for the openai SDK):",
      `  curl ${apiUrl}/functions/v1/llm-router \\`,
      `    -H "Authorization: Bearer ${keys.userToken}" \\`,
      `    -H "Content-Type: application/json" \\`,
      `    -d '{"prompt":"Hello!","useCase":"general"}'`,
      "",
      "What it is doing and costing (admins), and whether the providers answer:",
      `  curl ${apiUrl}/functions/v1/llm-metrics -H "Authorization: Bearer ${keys.adminToken}"`,
      `  curl "${apiUrl}/functions/v1/llm-metrics?format=prometheus" -H "Authorization: Bearer ${keys.adminToken}"`,
      `  curl ${apiUrl}/functions/v1/llm-health/providers`,
    );
  } else {
    lines.push(
      "SUPABASE_JWT_SECRET is set to your own secret: local tokens are not printed; sign in to get one.",
    );
  }
  if (!isLoopback(hostname)) {
    lines.push(
      "",
      `Warning: DEV_HOSTNAME=${hostname} lets other machines connect. Deno.serve has no time limit on request headers, so a client sending them slowly holds its connection; request bodies do have one (LLM_BODY_TIMEOUT_MS, 408). Keep the dev server on loopback, or front it with a proxy that times out headers (as Supabase's gateway does for deployed functions).`,
    );
  }
  lines.push("", "Ready. Ctrl-C stops.");
  console.log(lines.join("\n"));

  const stop = async () => {
    await server.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
