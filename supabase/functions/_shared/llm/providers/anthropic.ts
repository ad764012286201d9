/**
 * The adapter for Anthropic's Messages API, built on the official
 * `@anthropic-ai/sdk`. Anthropic serves no embeddings, so `embed` is absent.
 */
import Anthropic, { APIError } from "@anthropic-ai/sdk";
import type {
  MessageCreateParamsStreaming,
  RawMessageStreamEvent,
} from "@anthropic-ai/sdk/resources/messages";
import type { ErrorType } from "@anthropic-ai/sdk/resources/shared";
import type { LLMChatRequest, LLMChatResponse, LLMStreamEvent } from "../types.ts";
import { anthropicFailure, anthropicMalformed } from "./anthropic-errors.ts";
import { fromAnthropicMessage, toAnthropicParams } from "./anthropic-mapping.ts";
import { AnthropicStreamState } from "./anthropic-stream.ts";
import { jsonSseEvents } from "./sse-json.ts";
import { failureContext, PLACEHOLDER_KEY, SDK_TIMEOUT_MS } from "./sdk-defaults.ts";
import { SecretScrubber } from "../../runtime/secret-scrubber.ts";
import type { ProviderAdapter, ProviderAdapterInit, ProviderCallOptions } from "./provider.ts";

/** Anthropic, bound to one key and base URL. */
export class AnthropicAdapter implements ProviderAdapter {
  /** The provider's name (`anthropic`). */
  readonly name: string;
  readonly #init: ProviderAdapterInit;
  readonly #client: Anthropic;
  /** The key this adapter sends, scrubbed from every provider message (compiled on first failure). */
  readonly #secrets: SecretScrubber;

  constructor(init: ProviderAdapterInit) {
    this.name = init.spec.name;
    this.#init = init;
    this.#secrets = new SecretScrubber([init.apiKey]);
    this.#client = new Anthropic({
      // An explicit key also keeps the SDK from reading ANTHROPIC_AUTH_TOKEN.
      apiKey: init.apiKey || PLACEHOLDER_KEY,
      baseURL: init.baseUrl,
      fetch: init.fetch,
      maxRetries: 0,
      timeout: SDK_TIMEOUT_MS,
      webhookKey: null,
      // The SDK would log raw events on parse failures; the router decides what is logged.
      logLevel: "off",
    });
  }

  /** One complete answer. */
  async chat(request: LLMChatRequest, options: ProviderCallOptions): Promise<LLMChatResponse> {
    const ctx = failureContext(this.#init, options, this.#secrets);
    let message: Anthropic.Message;
    try {
      message = await this.#client.messages.create(toAnthropicParams(request, options.model), {
        signal: options.signal,
      });
    } catch (error) {
      throw anthropicFailure(error, ctx);
    }
    if (!Array.isArray(message?.content)) {
      throw anthropicMalformed(ctx, "the answer has no content");
    }
    return fromAnthropicMessage(message, this.name, options.model);
  }

  /** The answer as events; `start` comes with `message_start`, `finish` after `message_stop`. */
  async *stream(
    request: LLMChatRequest,
    options: ProviderCallOptions,
  ): AsyncGenerator<LLMStreamEvent> {
    const ctx = failureContext(this.#init, options, this.#secrets);
    const params: MessageCreateParamsStreaming = {
      ...toAnthropicParams(request, options.model),
      stream: true,
    };
    const state = new AnthropicStreamState(this.name, options.model);
    let response: Response;
    try {
      response = await this.#client.messages.create(params, { signal: options.signal })
        .asResponse();
    } catch (error) {
      throw anthropicFailure(error, ctx);
    }
    try {
      // Leaving this loop early (the consumer stopped) cancels the body, which ends the request.
      for await (const sse of jsonSseEvents(response, options.signal)) {
        // Anthropic names every event; unnamed ones and pings carry nothing for us.
        if (sse.event === undefined || sse.event === "ping") continue;
        if (sse.event === "error") {
          const body = sse.data as { error?: { type?: ErrorType } };
          throw new APIError(undefined, body, undefined, response.headers, body?.error?.type);
        }
        for (const out of state.push(sse.data as RawMessageStreamEvent)) yield out;
      }
    } catch (error) {
      throw anthropicFailure(error, ctx);
    }
    const finish = state.finish();
    // The SDK ends a stream quietly when it is cut or aborted; only the missing
    // message_stop (or the aborted signal) tells.
    if (!finish || options.signal.aborted) {
      throw anthropicMalformed(ctx, "stream ended before the model finished");
    }
    yield finish;
  }
}
