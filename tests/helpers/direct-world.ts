/**
 * A world for testing the direct functions: a fresh mock provider, the real
 * function spec with env pointing at the mock, captured logs, recorded sleeps,
 * and optionally a database and store (shared with an llm-router world).
 */
import {
  createDirectHandler,
  DirectFunctionSpec,
  type DirectHandler,
} from "../../supabase/functions/_shared/direct/handler.ts";
import type { Db } from "../../supabase/functions/_shared/store/db.ts";
import type { StateStore } from "../../supabase/functions/_shared/store/state-store.ts";
import { mapEnv } from "../../supabase/functions/_shared/runtime/env.ts";
import { testLogger } from "./logs.ts";
import { chatDirectSpec } from "../../supabase/functions/ai-chat-direct/index.ts";
import { MockProvider, startMockProvider } from "../../scripts/mock-provider.ts";
import { DEV_JWT_SECRET, signToken } from "./tokens.ts";

/** Everything a direct-function test touches. */
export interface DirectWorld {
  mock: MockProvider;
  handler: DirectHandler;
  logs: string[];
  /** Backoff waits the handler asked for (sleeps return at once). */
  sleeps: number[];
  token: string;
  /** A POST to the function with `body` (object → JSON) and the user token (or `init.token`). */
  post: (
    body: unknown,
    init?: { headers?: Record<string, string>; signal?: AbortSignal; token?: string },
  ) => Promise<Response>;
  /** Waits for background work (budget settles, usage rows, metrics) to be written. */
  settle: () => Promise<void>;
  close: () => Promise<void>;
}

/** Builds a world for `spec` (default ai-chat-direct) with `env` over the defaults. */
export async function directWorld(
  options: {
    env?: Record<string, string | undefined>;
    spec?: DirectFunctionSpec<unknown>;
    db?: Db;
    store?: StateStore;
  } = {},
): Promise<DirectWorld> {
  const mock = await startMockProvider();
  const logs: string[] = [];
  const sleeps: number[] = [];
  const background: Promise<unknown>[] = [];
  const spec = options.spec ?? (chatDirectSpec as DirectFunctionSpec<unknown>);
  const handler = createDirectHandler(spec, {
    env: mapEnv({
      OPENAI_API_KEY: "sk-test-direct-key-0123456789",
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      ...options.env,
    }),
    log: testLogger(spec.name, logs),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    db: options.db,
    store: options.store,
    waitUntil: (work) => background.push(work.catch(() => {})),
  });
  const settle = async () => {
    while (background.length) await Promise.all(background.splice(0));
    await handler.flush();
    while (background.length) await Promise.all(background.splice(0));
  };
  const token = await signToken();
  const url = `http://127.0.0.1:54321/functions/v1/${spec.name}`;
  return {
    mock,
    handler,
    logs,
    sleeps,
    token,
    post: (body, init = {}) =>
      handler(
        new Request(url, {
          method: "POST",
          headers: {
            "authorization": `Bearer ${init.token ?? token}`,
            "content-type": "application/json",
            ...init.headers,
          },
          body: typeof body === "string" ? body : JSON.stringify(body),
          signal: init.signal,
        }),
      ),
    settle,
    close: async () => {
      await settle();
      await handler.close();
      await mock.close();
    },
  };
}

/** Serves `handler` on a loopback port for tests that need a real client connection. */
export function serveOnLoopback(handler: (request: Request) => Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** Waits until `predicate` holds, polling every 10 ms, up to `ms`. */
export async function eventually(predicate: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
