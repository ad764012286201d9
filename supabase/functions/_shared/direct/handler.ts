/**
 * The request pipeline both direct functions share: CORS, health, config,
 * auth, rollout, body validation, then the stream relayed to the caller:
 * from OpenAI directly, or from llm-router for users rolled onto it.
 * Each function supplies only its extra fields and its system prompt.
 */
import { createFunctionApp, methodNotAllowed } from "../http/app.ts";
import { errorResponse, HttpError, jsonResponse } from "../http/errors.ts";
import { readJsonObject } from "../http/body.ts";
import { authenticateUser, bearerToken } from "../http/auth.ts";
import { EnvReader } from "../http/env.ts";
import { Logger } from "../http/log.ts";
import { SSE_HEADERS } from "../http/sse.ts";
import { JwtVerifier } from "../security/jwt-verifier.ts";
import { maskKey } from "../security/redact.ts";
import { DirectConfig, DirectConfigResult, readDirectConfig } from "./config.ts";
import { DirectChatInput, parseDirectChatInput } from "./chat-input.ts";
import { ServingPath, servingPathFor } from "./rollout.ts";
import {
  abortableSleep,
  ClientDisconnected,
  openAITarget,
  openUpstreamStream,
  routerTarget,
  UpstreamDeps,
} from "./openai-stream.ts";
import { relayChatStream } from "./relay.ts";

/** What makes one direct function different from the other. */
export interface DirectFunctionSpec<Extra> {
  /** The function's name, as in `supabase/functions/<name>`. */
  name: string;
  /** Env var naming the model; unset means `gpt-4o-mini`. */
  modelEnv: string;
  /** Body fields beyond `messages`, `temperature`, `maxTokens`. */
  extraFields: readonly string[];
  /** Validates the extra fields; throws `HttpError` (400) when wrong. */
  parseExtra: (body: Record<string, unknown>) => Extra;
  /** The system prompt for this request. */
  systemPrompt: (extra: Extra, config: DirectConfig) => string;
}

/** The world a direct handler runs in. */
export interface DirectDeps extends Partial<UpstreamDeps> {
  env: EnvReader;
  log: Logger;
}

/** Most turns accepted in one request; the byte limit usually binds first. */
const MAX_MESSAGES = 200;

/** Builds the `(Request) => Response` of a direct function. Reads no env until called. */
export function createDirectHandler<Extra>(
  spec: DirectFunctionSpec<Extra>,
  deps: DirectDeps,
): (request: Request) => Promise<Response> {
  const upstream: UpstreamDeps = {
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    now: deps.now ?? Date.now,
    random: deps.random ?? Math.random,
    sleep: deps.sleep ?? abortableSleep,
  };
  // Per-isolate memo of derived, immutable things: config and the imported HMAC key.
  let configResult: DirectConfigResult | undefined;
  let jwt: JwtVerifier | undefined;
  const settings = (): DirectConfigResult => {
    if (!configResult) {
      configResult = readDirectConfig(deps.env, spec.modelEnv);
      for (const warning of configResult.warnings) {
        deps.log.warn("config_warning", { detail: warning });
      }
      if (!configResult.ok) {
        deps.log.error("config_missing", { missing: configResult.missing.join(",") });
      } else {
        const config = configResult.config;
        // Once per isolate: what this function will do, the key masked.
        deps.log.info("function_ready", {
          model: config.model,
          openaiKey: maskKey(config.openaiApiKey),
          openaiBaseUrl: new URL(config.openaiBaseUrl).origin,
          userTokens: [config.jwt.hs256Secret ? "hs256" : "", config.jwt.jwksUrl ? "jwks" : ""]
            .filter(Boolean).join("+") || "none",
          router: config.rollout.enabled
            ? `${config.rollout.percent}% to ${config.routerModel}`
            : "off",
        });
      }
    }
    return configResult;
  };

  return createFunctionApp({
    name: spec.name,
    env: deps.env,
    log: deps.log,
    route: async ({ request, path, requestId }) => {
      try {
        return await route(request, path, settings(), requestId);
      } catch (error) {
        // The caller is gone: nobody reads this answer, and it is not an error of ours.
        if (error instanceof ClientDisconnected) return new Response(null, { status: 499 });
        throw error;
      }
    },
  });

  async function route(
    request: Request,
    path: string,
    result: DirectConfigResult,
    requestId: string,
  ): Promise<Response> {
    if (request.method === "GET" && (path === "/health" || path === "/")) {
      return result.ok
        ? jsonResponse({ status: "ok", function: spec.name })
        : errorResponse(missingConfig(result.missing));
    }
    if (request.method !== "POST") throw methodNotAllowed("GET, POST, OPTIONS");
    if (!result.ok) throw missingConfig(result.missing);
    const config = result.config;
    jwt ??= new JwtVerifier({ ...config.jwt, now: upstream.now, fetch: upstream.fetch });
    const user = await authenticateUser(request, jwt);
    const body = await readJsonObject(request, config.maxBodyBytes);
    const input: DirectChatInput = parseDirectChatInput(body, spec.extraFields, {
      maxMessages: MAX_MESSAGES,
      maxOutputTokens: config.maxOutputTokens,
    });
    const extra = spec.parseExtra(body);

    const servingPath = await servingPathFor(user.userId, config.rollout);
    if (servingPath === "router" && !config.routerUrl) {
      throw new HttpError(
        503,
        "ROUTER_UNAVAILABLE",
        "Set LLM_ROUTER_URL or SUPABASE_URL to reach llm-router",
        {},
        {
          "x-llm-path": "router",
        },
      );
    }
    const target = servingPath === "router"
      ? routerTarget(config, config.routerUrl!, bearerToken(request)!)
      : openAITarget(config);

    const started = upstream.now();
    const opened = await withPathHeader(servingPath, () =>
      openUpstreamStream(
        target,
        {
          systemPrompt: spec.systemPrompt(extra, config),
          messages: input.messages,
          temperature: input.temperature,
          maxTokens: input.maxTokens ?? config.maxOutputTokens,
        },
        request.signal,
        upstream,
      ));
    const stream = relayChatStream(opened.response.body!, {
      abortUpstream: opened.abort,
      idleTimeoutMs: config.idleTimeoutMs,
      onEnd: (summary) => {
        opened.release();
        deps.log.info("stream_end", {
          requestId,
          path: servingPath,
          model: target.model,
          outcome: summary.outcome,
          errorCode: summary.errorCode,
          events: summary.events,
          attempts: opened.attempts,
          inputTokens: summary.usage?.inputTokens,
          outputTokens: summary.usage?.outputTokens,
          durationMs: upstream.now() - started,
        });
      },
    });
    const served = opened.response.headers.get("x-llm-model") ?? target.model;
    return new Response(stream, {
      status: 200,
      headers: { ...SSE_HEADERS, "x-llm-path": servingPath, "x-llm-model": served },
    });
  }
}

/** Runs `open`, tagging any error it throws with the path that was tried. */
async function withPathHeader<T>(path: ServingPath, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof HttpError) error.headers["x-llm-path"] = path;
    throw error;
  }
}

function missingConfig(missing: string[]): HttpError {
  return new HttpError(
    503,
    "CONFIG_MISSING",
    `Function is not configured: set ${missing.join(", ")}`,
    {
      missing,
    },
  );
}
