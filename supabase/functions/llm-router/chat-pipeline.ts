/**
 * The one way a chat request goes through the gateway, whichever entrance it
 * came in by (the native API, OpenAI chat completions, a queued job):
 *
 *   dialect in (schema → one normalized request; a bad body ends here, before
 *   any key is decrypted or store touched) → the account the caller may act
 *   for → a gateway key's allowance → its router → guards, cache and router
 *   (`ChatFlow`) → the dialect's renderer, as JSON or SSE → the request's
 *   records (`RequestReporter`).
 *
 * A new dialect is a new `ChatDialect`; nothing here changes.
 */
import { jsonResponse } from "../_shared/http/errors.ts";
import { carriesCommonHeaders } from "../_shared/http/app.ts";
import { SSE_HEADERS } from "../_shared/runtime/sse.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import type { ModelCatalog } from "../_shared/llm/catalog.ts";
import type { ChatAnswer, ChatDialect, NormalizedChat } from "../_shared/dialects/chat-dialect.ts";
import { sseBody } from "../_shared/dialects/sse-writer.ts";
import type { GuardedCaller } from "../_shared/guards/gateway-guards.ts";
import type { Caller } from "../_shared/http/callers.ts";
import type { WaitUntil } from "../_shared/runtime/background.ts";
import type { AccountRouters } from "./account-routers.ts";
import type { ChatFlow } from "./chat-flow.ts";
import type { RequestContext } from "./context.ts";
import { promptText } from "./prompt-text.ts";
import { requireKeyAllows } from "./key-allowance.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";
import type { ReportBase, RequestReporter, RequestReports } from "./request-report.ts";
import { routeHeadersSince } from "./route-headers.ts";

/** What the pipeline runs with, once per isolate. */
export interface ChatPipelineDeps {
  /** The models a request may name (every account's router shares the platform's catalog). */
  catalog: ModelCatalog;
  routers: AccountRouters;
  flow: ChatFlow;
  reports: RequestReports;
  /** Whether audit events carry the prompt's text (LLM_AUDIT_PROMPTS). */
  auditPrompts: boolean;
  /** What a client leaving mid-stream does to the upstream call. */
  onClientDisconnect: "finish" | "abort";
  waitUntil: WaitUntil;
  now: () => number;
}

/** A queued job's facts, as the job runner knows them. */
export interface JobEntrance {
  /** `job:<id>` */
  requestId: string;
  /** The account the job was queued for. */
  accountId?: string;
  /** Ends the job (its lease). */
  signal: AbortSignal;
}

/** The chat pipeline. One per isolate. */
export class ChatPipeline {
  constructor(private readonly deps: ChatPipelineDeps) {}

  /** Answers one HTTP chat request in `dialect`; failures are thrown (the route renders them in the dialect). */
  async respond(dialect: ChatDialect, request: RequestContext): Promise<Response> {
    const { requestId, started, caller } = request;
    const { chat, render } = dialect.read(request.body, {
      catalog: this.deps.catalog,
      requestId,
      now: this.deps.now,
    });
    const access = await request.access(chat.accountId);
    const accountId = access.accountId;
    const key = caller.key;
    if (key) {
      await requireKeyAllows(key, {
        model: chat.route.modelOverride,
        useCase: chat.route.useCase,
        routedUseCase: async () =>
          (await this.deps.routers.platform.candidates({ ...chat.route, accountId })).useCase,
      });
    }
    const router = await this.deps.routers.forAccount(accountId);
    const reporter = this.#reporter(chat, {
      requestId,
      api: dialect.api,
      caller: caller.kind,
      accountId,
      userId: caller.userId,
      keyId: key?.id,
    }, started);
    const guarded = { accountId, userId: caller.userId, agentId: chat.route.agentId, key };
    const flow = {
      request: { ...chat.route, accountId },
      router,
      caller: guarded,
      cacheScope: cacheScope(guarded, caller),
      cache: chat.cache,
      maxSteps: chat.maxSteps,
      rateLimited: true,
      signal: request.signal,
      requestId,
    };
    try {
      if (chat.stream) {
        const { routed, cache, rateLimit } = await this.deps.flow.stream(flow);
        const cached = cache === "HIT";
        reporter.streaming(routed, cached);
        const body = sseBody(
          routed,
          render.stream(routed.route, cached),
          {
            clientSignal: request.signal,
            onClientGone: this.deps.onClientDisconnect,
            waitUntil: this.deps.waitUntil,
            heartbeatMs: routed.heartbeatMs,
          },
        );
        return withCommon(
          new Response(body, {
            headers: {
              ...SSE_HEADERS,
              ...routeHeadersSince(routed.route, started),
              ...rateLimitHeaders(rateLimit),
              "x-llm-cache": cache,
              ...request.commonHeaders,
            },
          }),
          request,
        );
      }
      const { answer, cache, rateLimit } = await this.deps.flow.answer(flow);
      const cached = cache === "HIT";
      reporter.answered(answer.route, answer.usage, answer.costUsd, cached);
      return withCommon(
        jsonResponse(render.json(answer, cached), 200, {
          ...routeHeadersSince(answer.route, started),
          ...rateLimitHeaders(rateLimit),
          "x-llm-cache": cache,
          ...request.commonHeaders,
        }),
        request,
      );
    } catch (error) {
      if (error instanceof LLMError) reporter.failed(error, chat.stream);
      throw error;
    }
  }

  /**
   * Answers a queued job's payload in `dialect`: never streamed (a tool loop
   * allowed), never from the cache, budgeted like any request but not rate
   * limited (the runner paces jobs). Throws a 400 `HttpError` for a bad
   * payload and the router's `LLMError` for a failure.
   */
  async answerJob(dialect: ChatDialect, payload: unknown, job: JobEntrance): Promise<ChatAnswer> {
    const { chat } = dialect.read(payload, {
      catalog: this.deps.catalog,
      requestId: job.requestId,
      now: this.deps.now,
    });
    const started = performance.now();
    const router = await this.deps.routers.forAccount(job.accountId);
    const reporter = this.#reporter(chat, {
      requestId: job.requestId,
      api: "job",
      caller: "job",
      accountId: job.accountId,
    }, started);
    try {
      const { answer } = await this.deps.flow.answer({
        request: { ...chat.route, accountId: job.accountId },
        router,
        caller: { accountId: job.accountId, agentId: chat.route.agentId },
        maxSteps: chat.maxSteps,
        rateLimited: false,
        signal: job.signal,
        requestId: job.requestId,
      });
      reporter.answered(answer.route, answer.usage, answer.costUsd);
      return answer;
    } catch (error) {
      if (error instanceof LLMError) reporter.failed(error, false);
      throw error;
    }
  }

  #reporter(
    chat: NormalizedChat,
    base: Omit<ReportBase, "agentId" | "useCase">,
    started: number,
  ): RequestReporter {
    return this.deps.reports.start(
      { ...base, agentId: chat.route.agentId, useCase: chat.route.useCase },
      started,
      this.deps.auditPrompts ? promptText(chat.route.chat.messages) : undefined,
    );
  }
}

/** `response`, marked as carrying the common headers when `request` had them to put in. */
function withCommon(response: Response, request: RequestContext): Response {
  return request.commonHeaders ? carriesCommonHeaders(response) : response;
}

/**
 * Whose cache entries a request may see: a gateway key's own (an answer from a
 * model outside its allowance must not reach it), else its account, else the
 * caller itself.
 */
function cacheScope(guarded: GuardedCaller, caller: Caller): string {
  if (guarded.key) return `key:${guarded.key.id}`;
  if (guarded.accountId) return `acct:${guarded.accountId}`;
  if (guarded.userId) return `user:${guarded.userId}`;
  return `${caller.kind}:-`;
}
