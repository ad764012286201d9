/**
 * A world for llm-router over HTTP: a fresh mock provider, the function's
 * handler with env pointing every provider at it, served on loopback, and
 * tokens for a member, an admin and the service role.
 */
import {
  BUILT_IN_MODELS,
  type CatalogModel,
} from "../../supabase/functions/_shared/llm/catalog.ts";
import { mapEnv } from "../../supabase/functions/_shared/runtime/env.ts";
import { testLogger } from "./logs.ts";
import { createRouterApp, type RouterApp } from "../../supabase/functions/llm-router/app.ts";
import { type MockProvider, startMockProvider } from "../../scripts/mock-provider.ts";
import { serveOnLoopback } from "./direct-world.ts";
import type { Db } from "../../supabase/functions/_shared/store/db.ts";
import type { StateStore } from "../../supabase/functions/_shared/store/state-store.ts";
import { DEV_JWT_SECRET, signToken } from "./tokens.ts";

/** The service-role key the world accepts. */
export const SERVICE_KEY = "service-role-key-for-router-tests-0123456789";

/** Everything a router HTTP test touches. */
export interface RouterHttpWorld {
  /** Background work started by the function (usage rows, audit): await it before reading the database. */
  settle: () => Promise<void>;
  mock: MockProvider;
  handler: RouterApp;
  /** `http://127.0.0.1:<port>/functions/v1/llm-router` */
  url: string;
  logs: string[];
  memberToken: string;
  adminToken: string;
  /** POSTs JSON to `path` under the function with `token` (member by default). */
  post: (path: string, body: unknown, token?: string) => Promise<Response>;
  close: () => Promise<void>;
}

/** A catalog entry like `base` but named `base::fault`, so the mock injects `fault` for it. */
export function faultyModel(base: string, fault: string): CatalogModel {
  const model = BUILT_IN_MODELS.find((m) => m.id === base)!;
  return { ...model, id: `${base}::${fault}` };
}

/**
 * Starts the world; `env` (or what it returns for the mock, to point more
 * providers at it) is merged over keys and URLs that point at the mock; `db`
 * is the database to use; `now` the world's clock.
 */
export async function routerHttpWorld(
  env:
    | Record<string, string | undefined>
    | ((mock: MockProvider) => Record<string, string | undefined>) = {},
  options: { db?: Db; store?: StateStore; now?: () => number } = {},
): Promise<RouterHttpWorld> {
  const mock = await startMockProvider();
  const logs: string[] = [];
  const background: Promise<unknown>[] = [];
  const handler = createRouterApp({
    db: options.db,
    store: options.store,
    now: options.now,
    waitUntil: (work) => background.push(work.catch(() => {})),
    env: mapEnv({
      OPENAI_API_KEY: "sk-test-router-openai",
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      ANTHROPIC_API_KEY: "sk-ant-test-router",
      ANTHROPIC_BASE_URL: mock.anthropicBaseUrl,
      GEMINI_API_KEY: "gemini-test-router",
      GEMINI_BASE_URL: mock.openaiBaseUrl,
      SUPABASE_JWT_SECRET: DEV_JWT_SECRET,
      SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      LLM_RETRY_BASE_MS: "1",
      LLM_RETRY_MAX_MS: "5",
      ...(typeof env === "function" ? env(mock) : env),
    }),
    log: testLogger("llm-router", logs),
  });
  const server = serveOnLoopback(handler);
  const url = `${server.url}/functions/v1/llm-router`;
  const memberToken = await signToken({
    app_metadata: { account_id: "acct-member", role: "member" },
  });
  const adminToken = await signToken({
    sub: "admin-user",
    app_metadata: { account_id: "acct-admin", role: "admin" },
  });
  return {
    settle: async () => {
      while (background.length) await Promise.all(background.splice(0));
      await handler.flush();
      while (background.length) await Promise.all(background.splice(0));
    },
    mock,
    handler,
    url,
    logs,
    memberToken,
    adminToken,
    post: (path, body, token = memberToken) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    close: async () => {
      await server.close();
      while (background.length) await Promise.all(background.splice(0));
      await handler.close();
      await mock.close();
    },
  };
}

/** A response read whole: status, headers, text, and the parsed body when it is JSON. */
export interface JsonCall {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** Sends `method url` with a bearer `token` and an optional JSON `body`; reads the answer whole. */
export async function callJson(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<JsonCall> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const isJson = response.headers.get("content-type")?.startsWith("application/json");
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: isJson ? JSON.parse(text) : undefined,
  };
}
