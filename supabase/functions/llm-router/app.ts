/**
 * The llm-router handler: routes paths to the native API, the
 * OpenAI-compatible API and health, after authenticating the caller. The
 * router itself is built once per isolate, on the first request.
 */
import { createFunctionApp, methodNotAllowed, notFound } from "../_shared/http/app.ts";
import { readJsonObject } from "../_shared/http/body.ts";
import { EnvReader, intSetting } from "../_shared/http/env.ts";
import { jsonResponse } from "../_shared/http/errors.ts";
import type { Logger } from "../_shared/http/log.ts";
import { Hs256Jwt } from "../_shared/security/jwt-hs256.ts";
import { createRouterFromEnv, type RouterEnvDeps } from "../_shared/llm/from-env.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import { accountFor, authenticateCaller } from "./callers.ts";
import type { RouterRequestContext } from "./context.ts";
import { withOpenAIErrors } from "./errors.ts";
import { nativeChat } from "./native-api.ts";
import { chatCompletions, embeddings, models } from "./openai-api.ts";
import { HttpError } from "../_shared/http/errors.ts";

/** The world llm-router runs in. */
export interface RouterAppDeps {
  env: EnvReader;
  log: Logger;
  now?: () => number;
  /** Router dependencies not taken from env (tests inject clocks, fetch, fakes). */
  routerDeps?: RouterEnvDeps;
}

/** Builds the llm-router request handler. Reads no env until the first request. */
export function createRouterApp(deps: RouterAppDeps): (request: Request) => Promise<Response> {
  const now = deps.now ?? Date.now;
  let shared:
    | { router: LLMRouter; jwt?: Hs256Jwt; serviceRoleKey?: string; maxBodyBytes: number }
    | undefined;
  const world = () => {
    if (!shared) {
      const warnings: string[] = [];
      const router = createRouterFromEnv(deps.env, deps.routerDeps, warnings);
      const secret = deps.env("SUPABASE_JWT_SECRET");
      shared = {
        router,
        jwt: secret ? new Hs256Jwt(secret) : undefined,
        serviceRoleKey: deps.env("SUPABASE_SERVICE_ROLE_KEY"),
        maxBodyBytes: intSetting(deps.env, "LLM_MAX_BODY_BYTES", 4_194_304, {
          min: 1_024,
          max: 52_428_800,
        }, warnings),
      };
      for (const warning of warnings) deps.log.warn("config_warning", { detail: warning });
      deps.log.info("router_ready", { providers: router.availableProviders().join(",") || "none" });
    }
    return shared;
  };

  return createFunctionApp({
    name: "llm-router",
    env: deps.env,
    log: deps.log,
    route: async ({ request, path, requestId }) => {
      const started = performance.now();
      const { router, jwt, serviceRoleKey, maxBodyBytes } = world();
      if (path === "/health" && request.method === "GET") {
        return jsonResponse({
          status: "ok",
          function: "llm-router",
          providers: router.availableProviders(),
        });
      }
      const handler = ROUTES[`${request.method} ${path}`];
      if (!handler) {
        if (Object.keys(ROUTES).some((key) => key.endsWith(` ${path}`))) {
          throw methodNotAllowed(allowedFor(path));
        }
        throw notFound(path);
      }
      const openAI = path.startsWith("/v1/");
      const run = async () => {
        if (!jwt && !serviceRoleKey) {
          throw new HttpError(
            503,
            "CONFIG_MISSING",
            "Set SUPABASE_JWT_SECRET (and SUPABASE_SERVICE_ROLE_KEY for server callers)",
            {
              missing: ["SUPABASE_JWT_SECRET"],
            },
          );
        }
        const caller = await authenticateCaller(request, { jwt, serviceRoleKey, now });
        const body = request.method === "POST" ? await readJsonObject(request, maxBodyBytes) : {};
        const context: RouterRequestContext = {
          router,
          caller,
          body,
          signal: request.signal,
          started,
          requestId,
          log: deps.log,
          accountFor: (requested) => accountFor(caller, requested),
        };
        return await handler(context);
      };
      return openAI ? await withOpenAIErrors(run) : await run();
    },
  });
}

const ROUTES: Record<string, (context: RouterRequestContext) => Response | Promise<Response>> = {
  "POST /": nativeChat,
  "POST /v1/chat/completions": chatCompletions,
  "POST /v1/embeddings": embeddings,
  "GET /v1/models": models,
};

function allowedFor(path: string): string {
  return Object.keys(ROUTES).filter((key) => key.endsWith(` ${path}`)).map((key) =>
    key.split(" ")[0]
  ).concat("OPTIONS")
    .join(", ");
}
