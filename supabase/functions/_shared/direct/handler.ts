/**
 * The request pipeline both direct functions share: CORS, health, config,
 * auth, rollout, body validation, then the stream relayed to the caller:
 * from OpenAI directly, or from llm-router for users rolled onto it.
 * Calls to OpenAI pass the guards first (the user's rate limit, the
 * account's budget) and are settled and recorded when they end; users on the
 * router path are guarded by llm-router itself. Each function supplies only
 * its extra fields and its system prompt.
 */
import { createFunctionApp, methodNotAllowed } from "../http/app.ts";
import { errorResponse, HttpError, jsonResponse } from "../http/errors.ts";
import { readJsonObject } from "../http/body.ts";
import { authenticateUser, bearerToken } from "../http/auth.ts";
import { EnvReader } from "../runtime/env.ts";
import { Logger, scrubbingLogger } from "../runtime/log.ts";
import { secretScrubberFromEnv } from "../security/known-secrets.ts";
import { SSE_HEADERS } from "../runtime/sse.ts";
import { JwtVerifier } from "../security/jwt-verifier.ts";
import { maskKey } from "../runtime/redact.ts";
import { DirectConfig, DirectConfigResult, readDirectConfig } from "./config.ts";
import { DirectChatInput, parseDirectChatInput } from "./chat-input.ts";
import { ServingPath, servingPathFor } from "./rollout.ts";
import { abortableSleep } from "../runtime/sleep.ts";
import {
  ClientDisconnected,
  openAITarget,
  type OpenedStream,
  openUpstreamStream,
  routerTarget,
  type UpstreamChat,
  UpstreamDeps,
} from "./openai-stream.ts";
import { relayChatStream } from "./relay.ts";
import type { Db } from "../store/db.ts";
import type { StateStore } from "../store/state-store.ts";
import { buildGuardWorld, type DirectGuardWorld } from "./guard-world.ts";
import { guardCall, type GuardedCall } from "./guarded-call.ts";
import { unavailableGuard } from "./guards.ts";

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
  /** A database to use instead of SUPABASE_DB_URL (tests, a dev server's own). */
  db?: Db;
  /** A store to use instead of the one UPSTASH_REDIS_REST_URL/TOKEN configure. */
  store?: StateStore;
  /** Keeps work alive after the response; default `EdgeRuntime.waitUntil` when present. */
  waitUntil?: (work: Promise<unknown>) => void;
}

/** A direct function's handler, with a way to write out queued work (tests, shutdown). */
export type DirectHandler = ((request: Request) => Promise<Response>) & {
  /** Writes queued usage rows and metrics now. */
  flush(): Promise<void>;
  /** Writes queued work and stops the guard world's timers. */
  close(): Promise<void>;
};

/** Most turns accepted in one request; the byte limit usually binds first. */
const MAX_MESSAGES = 200;

/** Builds the `(Request) => Response` of a direct function. Reads no env until called. */
export function createDirectHandler<Extra>(
  spec: DirectFunctionSpec<Extra>,
  deps: DirectDeps,
): DirectHandler {
  const upstream: UpstreamDeps = {
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    now: deps.now ?? Date.now,
    random: deps.random ?? Math.random,
    sleep: deps.sleep ?? abortableSleep,
  };
  // Every line scrubbed of the env's secrets in any encoding (env read on the first line).
  const log = scrubbingLogger(
    deps.log,
    () => secretScrubberFromEnv(deps.env, ["OPENAI_API_KEY"]),
  );
  // Per-isolate memo of derived, immutable things: config and the imported HMAC key.
  let configResult: DirectConfigResult | undefined;
  let jwt: JwtVerifier | undefined;
  // Built on the first request to OpenAI; a failed build is forgotten, so the next one retries.
  let guardWorld: Promise<DirectGuardWorld> | undefined;
  const guardWorldFor = (config: DirectConfig): Promise<DirectGuardWorld> =>
    guardWorld ??= buildGuardWorld(
      {
        env: deps.env,
        log: log,
        now: upstream.now,
        db: deps.db,
        store: deps.store,
        waitUntil: deps.waitUntil,
      },
      config.guards,
      spec.name,
    ).catch((error) => {
      guardWorld = undefined;
      throw error;
    });
  const settings = (): DirectConfigResult => {
    if (!configResult) {
      configResult = readDirectConfig(deps.env, spec.modelEnv);
      for (const warning of configResult.warnings) {
        log.warn("config_warning", { detail: warning });
      }
      if (!configResult.ok) {
        log.error("config_missing", { missing: configResult.missing.join(",") });
      } else {
        const config = configResult.config;
        // Once per isolate: what this function will do, the key masked.
        log.info("function_ready", {
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

  const handler = createFunctionApp({
    name: spec.name,
    env: deps.env,
    log: log,
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
  const built = async () => guardWorld && await guardWorld.catch(() => undefined);
  return Object.assign(handler, {
    flush: async () => await (await built())?.flush(),
    close: async () => await (await built())?.close(),
  });

  /** The guards of one OpenAI call; undefined when they could not be set up and fail open. */
  async function guardsFor(config: DirectConfig): Promise<DirectGuardWorld | undefined> {
    try {
      return await guardWorldFor(config);
    } catch (error) {
      const refusal = unavailableGuard("setup", error, config.guards.failClosed, log);
      if (refusal) throw refusal;
      return undefined;
    }
  }

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
    const started = upstream.now();
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
    const chat: UpstreamChat = {
      systemPrompt: spec.systemPrompt(extra, config),
      messages: input.messages,
      temperature: input.temperature,
      maxTokens: input.maxTokens ?? config.maxOutputTokens,
    };

    // Routed users are guarded by llm-router itself: guarding them here too would count them twice.
    const call: GuardedCall | undefined = servingPath === "direct"
      ? await withPathHeader(servingPath, async () => {
        const world = await guardsFor(config);
        return world && await guardCall(world, user, chat, config.catalogModel, {
          requestId,
          userId: user.userId,
          useCase: spec.name,
          model: target.model,
          started,
        }, upstream.now);
      })
      : undefined;
    let opened: OpenedStream;
    try {
      opened = await withPathHeader(
        servingPath,
        () => openUpstreamStream(target, chat, request.signal, upstream),
      );
    } catch (error) {
      call?.failed(error);
      throw error;
    }
    const stream = relayChatStream(opened.response.body!, {
      abortUpstream: opened.abort,
      idleTimeoutMs: config.idleTimeoutMs,
      now: upstream.now,
      onEnd: (summary) => {
        opened.release();
        const cost = call?.ended(summary, opened.attempts);
        log.info("stream_end", {
          requestId,
          path: servingPath,
          model: target.model,
          outcome: summary.outcome,
          errorCode: summary.errorCode,
          events: summary.events,
          attempts: opened.attempts,
          inputTokens: cost?.usage.inputTokens ?? summary.usage?.inputTokens,
          outputTokens: cost?.usage.outputTokens ?? summary.usage?.outputTokens,
          costUsd: cost?.costUsd,
          usageEstimated: cost?.estimated || undefined,
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
