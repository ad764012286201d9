/**
 * A loopback stand-in for LLM providers, speaking OpenAI's and Anthropic's
 * real wire protocols with injectable faults (see `mock/fault-spec.ts` for the
 * fault language). Used by tests, the benchmark and `deno task dev`.
 *
 * Routes: `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`
 * (OpenAI; base URL `<url>/v1`), `POST /v1/messages` (Anthropic; base URL
 * `<url>`). Control: `GET /mock/requests`, `POST /mock/faults`
 * `{"spec": "status=500", "count": 1}`, `DELETE /mock/faults`, `POST /mock/reset`.
 *
 * Beyond plain answers: JSON shaped by a request's schema (OpenAI
 * `response_format`, Anthropic `output_config.format`) or by a forced tool's
 * parameters; signed thinking blocks when a Messages request enables
 * thinking (a changed one sent back is a 400, as at Anthropic); reasoning
 * tokens for `reasoning_effort` and `reasoning_content` from `*reasoner*`
 * models; prompt-cache read/write usage on repeated prefixes. `GET
 * /mock/requests` shows every body as received, so tests assert the wire.
 *
 * Run alone: `deno run -A scripts/mock-provider.ts` (port `MOCK_PROVIDER_PORT`, default 54399;
 * reply length `MOCK_DEFAULT_WORDS`, default 20).
 */
import { anthropicError, anthropicFaultError, messages } from "./mock/anthropic-routes.ts";
import { MockContext, MockRequestRecord } from "./mock/context.ts";
import { FaultPlan, FaultSpecError, parseFaultSpec, splitModelFault } from "./mock/fault-spec.ts";
import { hostOnNodeHttp, RESET } from "./mock/node-host.ts";
import {
  chatCompletions,
  embeddings,
  models,
  openAIError,
  openAIFaultError,
} from "./mock/openai-routes.ts";

/** One protocol endpoint: the parsed body and context in, the answer out. */
type ProtocolRoute = (
  body: Record<string, unknown>,
  ctx: MockContext,
) => Response | Promise<Response>;

/** Options of `startMockProvider`. */
export interface MockProviderOptions {
  hostname?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Reply length in words when a request does not say (`words=N`). */
  defaultWords?: number;
  /** What `GET /v1/models` lists. */
  models?: string[];
}

/** A running mock provider. */
export interface MockProvider {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** For the OpenAI SDK and `OPENAI_BASE_URL`: `<url>/v1`. */
  openaiBaseUrl: string;
  /** For the Anthropic SDK and `ANTHROPIC_BASE_URL`: `<url>`. */
  anthropicBaseUrl: string;
  /** Every request received, oldest first. */
  readonly requests: MockRequestRecord[];
  /** Applies `spec` to the next `count` requests that carry no fault of their own. */
  queueFault(spec: string, count?: number): void;
  /** Forgets requests, queued faults, `times` counters and cached prefixes. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_MODELS = [
  "gpt-4o-mini",
  "gpt-4o",
  "text-embedding-3-small",
  "claude-sonnet-4-6",
  "claude-haiku-4-5",
];

/** Starts the mock on loopback. */
export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const hostname = options.hostname ?? "127.0.0.1";
  const requests: MockRequestRecord[] = [];
  const queue: { spec: string; remaining: number }[] = [];
  const timesUsed = new Map<string, number>();
  const seenPrefixes = new Set<string>();
  let counter = 0;
  const nextId = (prefix: string) => `${prefix}${String(++counter).padStart(6, "0")}`;

  const handle = async (request: Request): Promise<Response | typeof RESET> => {
    const url = new URL(request.url);
    const control = await controlRoute(request, url);
    if (control) return control;

    const isAnthropic = url.pathname === "/v1/messages";
    const fail = isAnthropic
      ? anthropicError
      : (status: number, message: string) =>
        openAIError(status, message, "invalid_request_error", null);
    const route = routeOf(request.method, url.pathname);
    if (!route) return fail(404, `mock provider has no route ${request.method} ${url.pathname}`);

    const apiKey = isAnthropic
      ? request.headers.get("x-api-key") ?? bearer(request)
      : bearer(request);
    let body: Record<string, unknown> = {};
    if (request.method === "POST") {
      try {
        body = await request.json();
      } catch {
        return fail(400, "request body is not valid JSON");
      }
    }
    const split: { model?: string; spec?: string } = typeof body.model === "string"
      ? splitModelFault(body.model)
      : {};
    if (split.model !== undefined) body.model = split.model;
    const spec = request.headers.get("x-mock-fault") ?? split.spec ?? takeQueued();
    let plan: FaultPlan = {};
    try {
      plan = spec ? parseFaultSpec(spec) : {};
    } catch (error) {
      if (error instanceof FaultSpecError) return fail(400, error.message);
      throw error;
    }
    if (spec && plan.times !== undefined) {
      const used = (timesUsed.get(spec) ?? 0) + 1;
      timesUsed.set(spec, used);
      if (used > plan.times) plan = {};
    }

    const record: MockRequestRecord = {
      id: requests.length + 1,
      method: request.method,
      path: url.pathname,
      model: split.model,
      stream: body.stream === true,
      fault: Object.keys(plan).length ? spec ?? undefined : undefined,
      outcome: "pending",
      eventsSent: 0,
      apiKey: apiKey ?? undefined,
      body,
      receivedAt: Date.now(),
    };
    requests.push(record);

    if (!apiKey || apiKey.includes("invalid")) {
      record.status = 401;
      record.outcome = "error-status";
      if (isAnthropic) {
        return anthropicError(401, apiKey ? "invalid x-api-key" : "x-api-key header is required");
      }
      return apiKey
        ? openAIError(
          401,
          "Incorrect API key provided (mock)",
          "invalid_request_error",
          "invalid_api_key",
        )
        : openAIError(401, "You didn't provide an API key (mock)", "invalid_request_error", null);
    }

    if (plan.delayMs) await sleep(plan.delayMs, request.signal);
    if (plan.hang) {
      record.outcome = "hung";
      await new Promise((resolve) =>
        request.signal.addEventListener("abort", resolve, { once: true })
      );
      record.outcome = "aborted";
      return RESET;
    }
    if (plan.reset) {
      record.outcome = "reset";
      return RESET;
    }
    if (plan.status !== undefined && plan.status >= 300) {
      record.status = plan.status;
      record.outcome = "error-status";
      return isAnthropic
        ? anthropicFaultError(plan.status, plan.code, plan.retryAfter)
        : openAIFaultError(plan.status, plan.code, plan.retryAfter);
    }
    const ctx: MockContext = {
      plan,
      record,
      signal: request.signal,
      nextId,
      seenPrefixes,
      defaultWords: options.defaultWords ?? 20,
    };
    const response = await route(body, ctx);
    record.status = response.status;
    if (!response.ok) record.outcome = "error-status";
    return response;
  };

  function routeOf(method: string, path: string): ProtocolRoute | undefined {
    if (method === "POST" && path === "/v1/chat/completions") return chatCompletions;
    if (method === "POST" && path === "/v1/embeddings") return embeddings;
    if (method === "POST" && path === "/v1/messages") return messages;
    if (method === "GET" && path === "/v1/models") {
      return (_body, ctx) => {
        ctx.record.outcome = "completed";
        return models(options.models ?? DEFAULT_MODELS);
      };
    }
    return undefined;
  }

  function takeQueued(): string | undefined {
    const head = queue[0];
    if (!head) return undefined;
    if (--head.remaining <= 0) queue.shift();
    return head.spec;
  }

  async function controlRoute(request: Request, url: URL): Promise<Response | undefined> {
    if (url.pathname === "/health") return Response.json({ status: "ok" });
    if (!url.pathname.startsWith("/mock/")) return undefined;
    if (url.pathname === "/mock/requests" && request.method === "GET") {
      return Response.json(requests);
    }
    if (url.pathname === "/mock/faults" && request.method === "POST") {
      const { spec, count } = await request.json().catch(() => ({}));
      try {
        parseFaultSpec(String(spec ?? ""));
      } catch (error) {
        return Response.json({ error: String(error) }, { status: 400 });
      }
      provider.queueFault(String(spec), Number(count ?? 1));
      return Response.json({ queued: queue.length });
    }
    if (url.pathname === "/mock/faults" && request.method === "DELETE") {
      queue.length = 0;
      return Response.json({ queued: 0 });
    }
    if (url.pathname === "/mock/reset" && request.method === "POST") {
      provider.reset();
      return Response.json({ reset: true });
    }
    return Response.json({ error: "unknown mock control route" }, { status: 404 });
  }

  const server = await hostOnNodeHttp(handle, hostname, options.port ?? 0);
  const url = `http://${hostname}:${server.port}`;
  const provider: MockProvider = {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    requests,
    queueFault(spec, count = 1) {
      parseFaultSpec(spec);
      queue.push({ spec, remaining: count });
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      timesUsed.clear();
      seenPrefixes.clear();
    },
    close: () => server.close(),
  };
  return provider;
}

function bearer(request: Request): string | undefined {
  const match = /^Bearer\s+(\S+)/i.exec(request.headers.get("authorization") ?? "");
  return match?.[1];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

if (import.meta.main) {
  const port = Number(Deno.env.get("MOCK_PROVIDER_PORT") ?? 54399);
  const defaultWords = Number(Deno.env.get("MOCK_DEFAULT_WORDS") ?? 20);
  const mock = await startMockProvider({ port, defaultWords });
  console.log(
    `mock provider on ${mock.url}: OPENAI_BASE_URL=${mock.openaiBaseUrl} ANTHROPIC_BASE_URL=${mock.anthropicBaseUrl}`,
  );
  Deno.addSignalListener("SIGINT", () => mock.close().then(() => Deno.exit(0)));
}
