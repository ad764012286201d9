/**
 * The adapter for every provider that speaks OpenAI's Chat Completions
 * protocol (OpenAI, Gemini, Mistral, Groq, OpenRouter, xAI, DeepSeek and
 * self-hosted servers), built on the official `openai` SDK. Differences
 * between them are data (`spec.quirks`), not branches on provider names.
 */
import OpenAI, { APIError } from "openai";
import type { ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMEmbeddingRequest,
  LLMEmbeddingResponse,
  LLMStreamEvent,
} from "../types.ts";
import { openAIFailure, openAIMalformed } from "./openai-errors.ts";
import { fromOpenAICompletion, toOpenAIParams } from "./openai-mapping.ts";
import { OpenAIStreamState } from "./openai-stream.ts";
import { jsonSseEvents } from "./sse-json.ts";
import { failureContext, PLACEHOLDER_KEY, SDK_TIMEOUT_MS } from "./sdk-defaults.ts";
import { SecretScrubber } from "../../runtime/secret-scrubber.ts";
import type { ProviderAdapter, ProviderAdapterInit, ProviderCallOptions } from "./provider.ts";

/** One OpenAI-compatible provider, bound to one key and base URL. */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  /** The provider's name (`openai`, `gemini`, a custom name …). */
  readonly name: string;
  /** Embeddings; present only when the provider's quirks say it serves them. */
  readonly embed?: (
    request: LLMEmbeddingRequest,
    options: ProviderCallOptions,
  ) => Promise<LLMEmbeddingResponse>;
  readonly #init: ProviderAdapterInit;
  readonly #client: OpenAI;
  /** The key this adapter sends, scrubbed from every provider message (compiled on first failure). */
  readonly #secrets: SecretScrubber;

  constructor(init: ProviderAdapterInit) {
    this.name = init.spec.name;
    this.#init = init;
    this.#secrets = new SecretScrubber([init.apiKey]);
    this.#client = new OpenAI({
      apiKey: init.apiKey || PLACEHOLDER_KEY,
      baseURL: init.baseUrl,
      fetch: init.fetch,
      maxRetries: 0,
      timeout: SDK_TIMEOUT_MS,
      // Explicit nulls keep the SDK from reading OPENAI_* env vars and sending
      // an OpenAI org/project header to other providers.
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      // The SDK would log raw chunks on parse failures; the router decides what is logged.
      logLevel: "off",
    });
    if (init.spec.quirks.embeddings) {
      this.embed = (request, options) => this.#embed(request, options);
    }
  }

  /** One complete answer. */
  async chat(request: LLMChatRequest, options: ProviderCallOptions): Promise<LLMChatResponse> {
    const ctx = failureContext(this.#init, options, this.#secrets);
    const params = toOpenAIParams(request, options.model, this.#init.spec.quirks);
    let completion: OpenAI.ChatCompletion;
    try {
      completion = await this.#client.chat.completions.create(params, { signal: options.signal });
    } catch (error) {
      throw openAIFailure(error, ctx);
    }
    if (!Array.isArray(completion?.choices) || completion.choices.length === 0) {
      throw openAIMalformed(ctx, "the answer has no choices");
    }
    return fromOpenAICompletion(completion, this.name, options.model);
  }

  /** The answer as events; `start` comes with the first upstream chunk, `finish` after the last. */
  async *stream(
    request: LLMChatRequest,
    options: ProviderCallOptions,
  ): AsyncGenerator<LLMStreamEvent> {
    const ctx = failureContext(this.#init, options, this.#secrets);
    const { quirks } = this.#init.spec;
    const params: ChatCompletionCreateParamsStreaming = {
      ...toOpenAIParams(request, options.model, quirks),
      stream: true,
      ...(quirks.streamUsage ? { stream_options: { include_usage: true } } : {}),
    };
    const state = new OpenAIStreamState(this.name, options.model);
    let response: Response;
    try {
      response = await this.#client.chat.completions.create(params, { signal: options.signal })
        .asResponse();
    } catch (error) {
      throw openAIFailure(error, ctx);
    }
    try {
      // Leaving this loop early (the consumer stopped) cancels the body, which ends the request.
      for await (const sse of jsonSseEvents(response, options.signal)) {
        const chunk = sse.data as OpenAI.ChatCompletionChunk & { error?: unknown };
        if (sse.event === "error" || chunk?.error) {
          throw new APIError(undefined, chunk?.error ?? chunk, undefined, response.headers);
        }
        for (const event of state.push(chunk)) yield event;
      }
    } catch (error) {
      throw openAIFailure(error, ctx);
    }
    const finish = state.finish();
    // The SDK ends a stream quietly when it is cut or aborted; only the missing
    // finish reason (or the aborted signal) tells.
    if (!finish || options.signal.aborted) {
      throw openAIMalformed(ctx, "stream ended before the model finished");
    }
    yield finish;
  }

  async #embed(
    request: LLMEmbeddingRequest,
    options: ProviderCallOptions,
  ): Promise<LLMEmbeddingResponse> {
    const ctx = failureContext(this.#init, options, this.#secrets);
    let response: OpenAI.CreateEmbeddingResponse;
    try {
      response = await this.#client.embeddings.create({
        model: options.model,
        input: request.input,
        ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
        encoding_format: "float",
      }, { signal: options.signal });
    } catch (error) {
      throw openAIFailure(error, ctx);
    }
    const data = [...(response?.data ?? [])].sort((a, b) => a.index - b.index);
    // Vectors are matched to inputs by position; a short answer would misalign them.
    if (data.length !== request.input.length) {
      throw openAIMalformed(ctx, `expected ${request.input.length} embeddings, got ${data.length}`);
    }
    return {
      embeddings: data.map((item) => item.embedding),
      usage: { inputTokens: response.usage?.prompt_tokens ?? 0 },
      provider: this.name,
      model: response.model || options.model,
    };
  }
}
