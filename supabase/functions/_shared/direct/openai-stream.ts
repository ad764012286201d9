/**
 * Opening a streamed chat completion with plain `fetch` (no SDK: the direct
 * functions stay dependency-free), on OpenAI or, for users rolled onto it,
 * on llm-router's OpenAI-compatible API. Retryable failures before the first
 * byte get a short jittered retry; nothing is retried once streaming starts.
 */
import { DirectConfig } from "./config.ts";
import { ChatTurn } from "./chat-input.ts";
import {
  routerErrorFromResponse,
  UpstreamError,
  upstreamErrorFromResponse,
  upstreamErrorFromThrown,
} from "./upstream-error.ts";
import { SecretScrubber } from "../runtime/secret-scrubber.ts";

/** Thrown when the caller went away; there is nobody left to answer. */
export class ClientDisconnected extends Error {
  constructor() {
    super("client disconnected");
    this.name = "ClientDisconnected";
  }
}

/** What the upstream call needs from its surroundings (injected for tests). */
export interface UpstreamDeps {
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The request sent upstream. */
export interface UpstreamChat {
  systemPrompt: string;
  messages: ChatTurn[];
  temperature?: number;
  maxTokens: number;
}

/** Where a stream is opened and how its failures are read. */
export interface UpstreamTarget {
  /** The `…/chat/completions` URL. */
  url: string;
  /** The `Authorization` header value. */
  authorization: string;
  model: string;
  maxRetries: number;
  firstByteTimeoutMs: number;
  /** Classifies a non-2xx answer. */
  errorFrom: (response: Response, nowMs: number) => Promise<UpstreamError>;
}

/** OpenAI itself, with the platform key. */
export function openAITarget(config: DirectConfig): UpstreamTarget {
  // Compiled only if an error body is ever scrubbed: nothing on the happy path.
  const secrets = new SecretScrubber([config.openaiApiKey]);
  return {
    url: `${config.openaiBaseUrl}/chat/completions`,
    authorization: `Bearer ${config.openaiApiKey}`,
    model: config.model,
    maxRetries: config.maxRetries,
    firstByteTimeoutMs: config.firstByteTimeoutMs,
    errorFrom: (response, nowMs) => upstreamErrorFromResponse(response, nowMs, secrets),
  };
}

/**
 * llm-router's OpenAI-compatible API, called with the user's own token. The
 * router retries and falls back itself, so this path does not retry again
 * (that would multiply attempts), and its errors pass through as they are.
 */
export function routerTarget(
  config: DirectConfig,
  routerUrl: string,
  userToken: string,
): UpstreamTarget {
  return {
    url: `${routerUrl}/v1/chat/completions`,
    authorization: `Bearer ${userToken}`,
    model: config.routerModel,
    maxRetries: 0,
    firstByteTimeoutMs: config.firstByteTimeoutMs,
    errorFrom: routerErrorFromResponse,
  };
}

/** An upstream stream whose headers arrived with a 2xx. */
export interface OpenedStream {
  response: Response;
  /** Aborts the upstream request (client gone, idle timeout). */
  abort: (reason?: unknown) => void;
  /** Stops watching the client's signal once the stream has ended. */
  release: () => void;
  attempts: number;
}

/** Longest wait before a retry; a longer `retry-after` is passed to the caller instead. */
const MAX_RETRY_WAIT_MS = 2_000;
const BACKOFF_BASE_MS = 200;

/** Opens the stream, retrying retryable failures; throws `UpstreamError` or `ClientDisconnected`. */
export async function openUpstreamStream(
  target: UpstreamTarget,
  chat: UpstreamChat,
  clientSignal: AbortSignal,
  deps: UpstreamDeps,
): Promise<OpenedStream> {
  const body = JSON.stringify({
    model: target.model,
    messages: [{ role: "system", content: chat.systemPrompt }, ...chat.messages],
    stream: true,
    stream_options: { include_usage: true },
    max_completion_tokens: chat.maxTokens,
    ...(chat.temperature === undefined ? {} : { temperature: chat.temperature }),
  });
  const attemptsAllowed = 1 + target.maxRetries;
  for (let attempt = 1;; attempt++) {
    if (clientSignal.aborted) throw new ClientDisconnected();
    const result = await attemptOnce(target, body, clientSignal, deps);
    if (!(result instanceof UpstreamError)) return { ...result, attempts: attempt };
    result.attempts = attempt;
    if (!result.retryable || attempt >= attemptsAllowed) throw result;
    const wait = result.retryAfterMs ??
      deps.random() * Math.min(MAX_RETRY_WAIT_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    if (wait > MAX_RETRY_WAIT_MS) throw result;
    // The caller leaving during the backoff is a disconnect, whatever the sleep rejected with.
    await deps.sleep(wait, clientSignal).catch(() => {
      throw new ClientDisconnected();
    });
  }
}

async function attemptOnce(
  target: UpstreamTarget,
  body: string,
  clientSignal: AbortSignal,
  deps: UpstreamDeps,
): Promise<Omit<OpenedStream, "attempts"> | UpstreamError> {
  const controller = new AbortController();
  const onClientAbort = () => controller.abort(new ClientDisconnected());
  clientSignal.addEventListener("abort", onClientAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("first byte timeout", "TimeoutError"));
  }, target.firstByteTimeoutMs);
  let response: Response;
  try {
    response = await deps.fetch(target.url, {
      method: "POST",
      headers: {
        "authorization": target.authorization,
        "content-type": "application/json",
        "accept": "text/event-stream",
      },
      body,
      signal: controller.signal,
    });
  } catch (error) {
    clientSignal.removeEventListener("abort", onClientAbort);
    if (clientSignal.aborted) throw new ClientDisconnected();
    return upstreamErrorFromThrown(error, timedOut);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    clientSignal.removeEventListener("abort", onClientAbort);
    return await target.errorFrom(response, deps.now());
  }
  return {
    response,
    abort: (reason) => controller.abort(reason),
    release: () => clientSignal.removeEventListener("abort", onClientAbort),
  };
}
