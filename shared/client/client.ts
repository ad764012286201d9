/** `createRouterClient`: the typed client of the gateway's functions. */
import { tokenSource } from "./auth.ts";
import { LLMRouterError } from "./errors.ts";
import { invokeRequest, invokeResult } from "./invoke-llm.ts";
import { fallbackApplies } from "./retry-policy.ts";
import { routeFromHeaders } from "./route-info.ts";
import { NativeRouterStream } from "./router-stream.ts";
import { readJson, Transport } from "./transport.ts";
import type {
  CallOptions,
  EmbedResult,
  HealthReport,
  ModelInfo,
  RouterAnswer,
  RouterClient,
  RouterClientOptions,
  RouterRequest,
} from "./types.ts";

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 2;

/** A client for the functions under `options.url` (`${SUPABASE_URL}/functions/v1`). */
export function createRouterClient(options: RouterClientOptions): RouterClient {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const transport = new Transport({
    url: options.url,
    tokens: tokenSource(options),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    // Called detached: a browser's fetch refuses a `this` other than the window.
    fetch: (input, init) => fetchImpl(input, init),
  });
  const withRoute = async <T>(response: Response) => ({
    ...(await readJson<T>(response)),
    route: routeFromHeaders(response.headers),
  });

  const client: RouterClient = {
    routerCall(request, callOptions = {}) {
      return transport.send(
        { method: "POST", path: "llm-router", body: { ...request, stream: false }, ...callOptions },
        (response) => withRoute<Omit<RouterAnswer, "route">>(response),
      );
    },

    routerCallStream(request, callOptions = {}) {
      const { signal, timeoutMs } = callOptions;
      return new NativeRouterStream(
        (streamSignal) =>
          transport.send({
            method: "POST",
            path: "llm-router",
            body: { ...request, stream: true },
            signal: streamSignal,
            timeoutMs,
            stream: true,
          }, (response) => Promise.resolve(response)),
        signal,
      );
    },

    async callWithFallback<T>(
      request: RouterRequest,
      fallback: (request: RouterRequest, error: LLMRouterError) => Promise<T>,
      callOptions?: CallOptions,
    ): Promise<RouterAnswer | T> {
      try {
        return await client.routerCall(request, callOptions);
      } catch (error) {
        if (error instanceof LLMRouterError && fallbackApplies(error)) {
          return await fallback(request, error);
        }
        throw error;
      }
    },

    async healthCheck(callOptions = {}) {
      try {
        const report = await transport.send(
          { method: "GET", path: "llm-health", maxRetries: 0, acceptStatus: [503], ...callOptions },
          (response) => readJson<HealthReport>(response),
        );
        const readable = typeof report === "object" && report !== null &&
          Array.isArray(report.providers);
        return readable
          ? { healthy: report.healthy === true, report }
          : { healthy: false, report: null };
      } catch {
        return { healthy: false, report: null };
      }
    },

    async listModels(callOptions = {}) {
      const list = await transport.send(
        { method: "GET", path: "llm-router/v1/models", ...callOptions },
        (response) => readJson<{ data: ModelInfo[] }>(response),
      );
      return list.data;
    },

    embed(input, embedOptions = {}) {
      const { model = "auto", dimensions, ...callOptions } = embedOptions;
      return transport.send({
        method: "POST",
        path: "llm-router/v1/embeddings",
        body: { model, input, ...(dimensions === undefined ? {} : { dimensions }) },
        ...callOptions,
      }, async (response): Promise<EmbedResult> => {
        const body = await readJson<{
          data: { index: number; embedding: number[] }[];
          model: string;
          usage: { prompt_tokens: number };
        }>(response);
        return {
          embeddings: [...body.data].sort((a, b) => a.index - b.index).map((d) => d.embedding),
          model: body.model,
          usage: { inputTokens: body.usage.prompt_tokens },
          route: routeFromHeaders(response.headers),
        };
      });
    },

    async invokeLLM(params) {
      return invokeResult(
        await client.routerCall(invokeRequest(params), { signal: params.signal }),
      );
    },

    request<T = unknown>(method: string, path: string, body?: unknown, callOptions?: CallOptions) {
      return transport.send<T>({ method, path, body, ...callOptions }, readJson);
    },
  };
  return client;
}
