/**
 * The adapter for Anthropic's Messages API, over `fetch` with the official
 * `@anthropic-ai/sdk`'s wire types. Anthropic serves no embeddings, so
 * `embed` is absent.
 */
import type { Message, RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import type { LLMChatRequest, LLMChatResponse, LLMStreamEvent } from "../types.ts";
import { readAnthropicError } from "./anthropic-errors.ts";
import { fromAnthropicMessage, toAnthropicParams } from "./anthropic-mapping.ts";
import { AnthropicStreamState } from "./anthropic-stream.ts";
import { ProviderFailures } from "./failures.ts";
import { endpoint, PLACEHOLDER_KEY, ProviderHttpClient } from "./http-client.ts";
import { sseBatches } from "./sse-body.ts";
import { batchedEvents, type EventBatches } from "../event-batches.ts";
import type { ProviderAdapter, ProviderAdapterInit, ProviderCallOptions } from "./provider.ts";

/**
 * The API version the mapping is written for: the one the pinned SDK
 * (1.12.0) speaks, which takes no sampling parameters.
 */
const ANTHROPIC_VERSION = "2026-10-21";

/** Anthropic, bound to one key and base URL. */
export class AnthropicAdapter implements ProviderAdapter {
  /** The provider's name (`anthropic`). */
  readonly name: string;
  readonly #http: ProviderHttpClient;
  readonly #messagesUrl: string;

  constructor(init: ProviderAdapterInit) {
    this.name = init.spec.name;
    this.#http = new ProviderHttpClient(
      init.fetch,
      { "x-api-key": init.apiKey || PLACEHOLDER_KEY, "anthropic-version": ANTHROPIC_VERSION },
      new ProviderFailures(this.name, init.apiKey, init.now, readAnthropicError),
    );
    this.#messagesUrl = endpoint(init.baseUrl, "/v1/messages");
  }

  /** One complete answer. */
  async chat(request: LLMChatRequest, options: ProviderCallOptions): Promise<LLMChatResponse> {
    const { model, signal } = options;
    const body = JSON.stringify(toAnthropicParams(request, model));
    const message = await this.#http.json<Message>(this.#messagesUrl, body, model, signal);
    if (!Array.isArray(message?.content)) {
      throw this.#http.failures.malformed("the answer has no content", model, signal);
    }
    return fromAnthropicMessage(message, this.name, model);
  }

  /** The answer as events; `start` comes with `message_start`, `finish` after `message_stop`. */
  stream(request: LLMChatRequest, options: ProviderCallOptions): EventBatches {
    return batchedEvents(this.#batches(request, options));
  }

  /** The events of each upstream read, together (see event-batches.ts). */
  async *#batches(
    request: LLMChatRequest,
    options: ProviderCallOptions,
  ): AsyncGenerator<LLMStreamEvent[]> {
    const { model, signal } = options;
    const params = toAnthropicParams(request, model);
    params.stream = true;
    const response = await this.#http.post(
      this.#messagesUrl,
      JSON.stringify(params),
      model,
      signal,
    );
    const { failures } = this.#http;
    const state = new AnthropicStreamState(this.name, model);
    // What a read carried so far: on a broken event, what came before it is still delivered.
    let out: LLMStreamEvent[] = [];
    try {
      // Leaving this loop early (the consumer stopped) cancels the body, which ends the request.
      for await (const batch of sseBatches(response, signal)) {
        for (const sse of batch) {
          // Anthropic names every event; unnamed ones and pings carry nothing for us.
          if (sse.event === undefined || sse.event === "ping") continue;
          const data: RawMessageStreamEvent = JSON.parse(sse.data);
          if (sse.event === "error") throw failures.event(data, response.headers, model, signal);
          for (const event of state.push(data)) out.push(event);
        }
        if (out.length > 0) {
          const read = out;
          out = [];
          yield read;
        }
      }
    } catch (error) {
      if (out.length > 0) yield out;
      throw failures.thrown(error, model, signal);
    }
    const finish = state.finish();
    // A cut body or an abort ends the read quietly; only the missing
    // message_stop (or the aborted signal) tells.
    if (!finish || signal.aborted) {
      throw failures.malformed("stream ended before the model finished", model, signal);
    }
    yield [finish];
  }
}
