/**
 * The adapter for every provider that speaks OpenAI's Chat Completions
 * protocol (OpenAI, Gemini, Mistral, Groq, OpenRouter, xAI, DeepSeek and
 * self-hosted servers), over `fetch` with the official `openai` SDK's wire
 * types. Differences between them are data (`spec.quirks`), not branches on
 * provider names.
 */
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from "openai/resources/embeddings";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMEmbeddingRequest,
  LLMEmbeddingResponse,
  LLMStreamEvent,
} from "../types.ts";
import { ProviderFailures } from "./failures.ts";
import { endpoint, PLACEHOLDER_KEY, ProviderHttpClient } from "./http-client.ts";
import { readOpenAIError } from "./openai-errors.ts";
import { fromOpenAICompletion, toOpenAIParams } from "./openai-mapping.ts";
import { OpenAIStreamState } from "./openai-stream.ts";
import { sseBatches } from "./sse-body.ts";
import { batchedEvents, type EventBatches } from "../event-batches.ts";
import type {
  OpenAICompatibleQuirks,
  ProviderAdapter,
  ProviderAdapterInit,
  ProviderCallOptions,
} from "./provider.ts";

/** One OpenAI-compatible provider, bound to one key and base URL. */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  /** The provider's name (`openai`, `gemini`, a custom name …). */
  readonly name: string;
  /** Embeddings; present only when the provider's quirks say it serves them. */
  readonly embed?: (
    request: LLMEmbeddingRequest,
    options: ProviderCallOptions,
  ) => Promise<LLMEmbeddingResponse>;
  readonly #quirks: OpenAICompatibleQuirks;
  readonly #http: ProviderHttpClient;
  readonly #chatUrl: string;
  readonly #embeddingsUrl: string;

  constructor(init: ProviderAdapterInit) {
    this.name = init.spec.name;
    this.#quirks = init.spec.quirks;
    // Only the key: no OpenAI organization or project header goes to other providers.
    this.#http = new ProviderHttpClient(
      init.fetch,
      { authorization: `Bearer ${init.apiKey || PLACEHOLDER_KEY}` },
      new ProviderFailures(this.name, init.apiKey, init.now, readOpenAIError),
    );
    this.#chatUrl = endpoint(init.baseUrl, "/chat/completions");
    this.#embeddingsUrl = endpoint(init.baseUrl, "/embeddings");
    if (init.spec.quirks.embeddings) this.embed = this.#embed;
  }

  /** One complete answer. */
  async chat(request: LLMChatRequest, options: ProviderCallOptions): Promise<LLMChatResponse> {
    const { model, signal } = options;
    const body = JSON.stringify(toOpenAIParams(request, model, this.#quirks));
    const completion = await this.#http.json<ChatCompletion>(this.#chatUrl, body, model, signal);
    if (!Array.isArray(completion?.choices) || completion.choices.length === 0) {
      throw this.#http.failures.malformed("the answer has no choices", model, signal);
    }
    return fromOpenAICompletion(completion, this.name, model);
  }

  /** The answer as events; `start` comes with the first upstream chunk, `finish` after the last. */
  stream(request: LLMChatRequest, options: ProviderCallOptions): EventBatches {
    return batchedEvents(this.#batches(request, options));
  }

  /** The events of each upstream read, together (see event-batches.ts). */
  async *#batches(
    request: LLMChatRequest,
    options: ProviderCallOptions,
  ): AsyncGenerator<LLMStreamEvent[]> {
    const { model, signal } = options;
    const params = toOpenAIParams(request, model, this.#quirks);
    params.stream = true;
    if (this.#quirks.streamUsage) params.stream_options = { include_usage: true };
    const response = await this.#http.post(this.#chatUrl, JSON.stringify(params), model, signal);
    const { failures } = this.#http;
    const state = new OpenAIStreamState(this.name, model);
    // What a read carried so far: on a broken event, what came before it is still delivered.
    let out: LLMStreamEvent[] = [];
    try {
      // Leaving this loop early (the consumer stopped) cancels the body, which ends the request.
      for await (const batch of sseBatches(response, signal)) {
        for (const sse of batch) {
          const chunk: ChatCompletionChunk & { error?: unknown } = JSON.parse(sse.data);
          if (sse.event === "error" || chunk?.error) {
            throw failures.event(chunk, response.headers, model, signal);
          }
          for (const event of state.push(chunk)) out.push(event);
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
    // A cut body or an abort ends the read quietly; only the missing finish
    // reason (or the aborted signal) tells.
    if (!finish || signal.aborted) {
      throw failures.malformed("stream ended before the model finished", model, signal);
    }
    yield [finish];
  }

  // An arrow field, so `embed` can be handed out unbound (built once per adapter, not per call).
  readonly #embed = async (
    request: LLMEmbeddingRequest,
    options: ProviderCallOptions,
  ): Promise<LLMEmbeddingResponse> => {
    const { model, signal } = options;
    const params: EmbeddingCreateParams = {
      model,
      input: request.input,
      encoding_format: "float",
    };
    if (request.dimensions !== undefined) params.dimensions = request.dimensions;
    const response = await this.#http.json<CreateEmbeddingResponse>(
      this.#embeddingsUrl,
      JSON.stringify(params),
      model,
      signal,
    );
    const data = [...(response?.data ?? [])].sort((a, b) => a.index - b.index);
    // Vectors are matched to inputs by position; a short answer would misalign them.
    if (data.length !== request.input.length) {
      throw this.#http.failures.malformed(
        `expected ${request.input.length} embeddings, got ${data.length}`,
        model,
        signal,
      );
    }
    return {
      embeddings: data.map((item) => item.embedding),
      usage: { inputTokens: response.usage?.prompt_tokens ?? 0 },
      provider: this.name,
      model: response.model || model,
    };
  };
}
