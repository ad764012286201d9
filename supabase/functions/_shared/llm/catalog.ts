/**
 * The model catalog: the one place in code where model names appear. Per
 * model: its provider, context window, largest output, prices in USD per
 * million tokens (input, output, cached input, cache write), what it can do,
 * and which tokenizer approximates it. Everything else reads the catalog or
 * configuration; deployments add or re-price models through config
 * (`LLM_MODELS`), not code.
 */
import type { LLMReasoningEffort } from "./types.ts";

/**
 * How a model guarantees a JSON schema: `native` — the provider's own
 * structured output (OpenAI-compatible `response_format: json_schema`,
 * Anthropic `output_config.format`); `tool` — a forced call of a tool whose
 * parameters are the schema, its arguments returned as the content; `none` —
 * no guarantee, so a schema request skips the model.
 */
export type StructuredOutputMode = "native" | "tool" | "none";

/**
 * Which reasoning control a model takes: `effort` — an effort level
 * (OpenAI-compatible `reasoning_effort`; on Anthropic `output_config.effort`
 * together with a thinking budget); `thinking` — Anthropic's thinking budget
 * only; `none` — no control, so a reasoning request is sent without it, with
 * a warning.
 */
export type ReasoningControl = "effort" | "thinking" | "none";

/** What a model can do. */
export interface ModelCapabilities {
  chat: boolean;
  tools: boolean;
  vision: boolean;
  /** `response_format: json_object` (or its equivalent). */
  json: boolean;
  embeddings: boolean;
  /** Absent (an `LLM_MODELS` entry may omit it): `tool` when the model has tools, else `none`. */
  structuredOutput?: StructuredOutputMode;
  /** Absent: `none`. */
  reasoning?: ReasoningControl;
  /**
   * The effort levels an `effort` model accepts, lowest first; a request's
   * effort is sent as the nearest of them. Absent: low, medium and high.
   */
  reasoningEfforts?: readonly LLMReasoningEffort[];
}

/** Prices in USD per million tokens. */
export interface ModelPrices {
  input: number;
  output: number;
  /** Input tokens read from the provider's prompt cache. */
  cachedInput: number;
  /** Input tokens written to the prompt cache (Anthropic); equals `input` where there is no surcharge. */
  cacheWrite: number;
}

/** How tokens are counted for budgeting: an exact BPE, or o200k times a safety factor. */
export type TokenizerFamily = "o200k" | "cl100k" | "approx";

/** One model. */
export interface CatalogModel {
  /** The name callers use and the provider expects. */
  id: string;
  provider: string;
  contextWindow: number;
  maxOutputTokens: number;
  prices: ModelPrices;
  capabilities: ModelCapabilities;
  tokenizer: TokenizerFamily;
  /** Embedding models: the vector size. */
  embeddingDimensions?: number;
}

const chat = (
  tools: boolean,
  vision: boolean,
  structuredOutput: StructuredOutputMode,
  json = true,
): ModelCapabilities => ({
  chat: true,
  tools,
  vision,
  json,
  embeddings: false,
  structuredOutput,
  reasoning: "none",
});
/** The effort levels of an `effort` model that names none. */
export const DEFAULT_EFFORTS: readonly LLMReasoningEffort[] = ["low", "medium", "high"];
/** A chat model that takes an effort level, one of `efforts`. */
const withEffort = (
  capabilities: ModelCapabilities,
  efforts: readonly LLMReasoningEffort[] = DEFAULT_EFFORTS,
): ModelCapabilities => ({ ...capabilities, reasoning: "effort", reasoningEfforts: efforts });
/** A chat model that takes a thinking budget only. */
const withThinking = (capabilities: ModelCapabilities): ModelCapabilities => ({
  ...capabilities,
  reasoning: "thinking",
});
const embedding: ModelCapabilities = {
  chat: false,
  tools: false,
  vision: false,
  json: false,
  embeddings: true,
  structuredOutput: "none",
  reasoning: "none",
};
const price = (
  input: number,
  output: number,
  cachedInput = input,
  cacheWrite = input,
): ModelPrices => ({
  input,
  output,
  cachedInput,
  cacheWrite,
});

/**
 * The built-in models, with list prices as published by each provider.
 * Structured output is `native` where the provider honours a JSON schema
 * (OpenAI, Anthropic, Gemini, Mistral and xAI), `tool` where only a forced
 * tool call guarantees one (Groq's Llama models, DeepSeek's chat model,
 * OpenRouter's auto router, whose target is not known in advance). Reasoning
 * is `effort` for models that take an effort level (OpenAI's o-series,
 * Gemini 2.5, Grok 3 mini, Claude Sonnet 4.6 and Opus 4.5), `thinking` for
 * Claude Haiku 4.5 (a thinking budget only).
 */
export const BUILT_IN_MODELS: readonly CatalogModel[] = [
  // OpenAI
  {
    id: "gpt-4o-mini",
    provider: "openai",
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    prices: price(0.15, 0.6, 0.075),
    capabilities: chat(true, true, "native"),
    tokenizer: "o200k",
  },
  {
    id: "gpt-4o",
    provider: "openai",
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    prices: price(2.5, 10, 1.25),
    capabilities: chat(true, true, "native"),
    tokenizer: "o200k",
  },
  {
    id: "gpt-4.1",
    provider: "openai",
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
    prices: price(2, 8, 0.5),
    capabilities: chat(true, true, "native"),
    tokenizer: "o200k",
  },
  {
    id: "gpt-4.1-mini",
    provider: "openai",
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
    prices: price(0.4, 1.6, 0.1),
    capabilities: chat(true, true, "native"),
    tokenizer: "o200k",
  },
  {
    id: "gpt-4.1-nano",
    provider: "openai",
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
    prices: price(0.1, 0.4, 0.025),
    capabilities: chat(true, true, "native"),
    tokenizer: "o200k",
  },
  // A reasoning model: `reasoning_effort`, reasoning tokens billed as output.
  {
    id: "o4-mini",
    provider: "openai",
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    prices: price(1.1, 4.4, 0.275),
    capabilities: withEffort(chat(true, true, "native")),
    tokenizer: "o200k",
  },
  {
    id: "text-embedding-3-small",
    provider: "openai",
    contextWindow: 8_191,
    maxOutputTokens: 0,
    prices: price(0.02, 0),
    capabilities: embedding,
    tokenizer: "cl100k",
    embeddingDimensions: 1_536,
  },
  {
    id: "text-embedding-3-large",
    provider: "openai",
    contextWindow: 8_191,
    maxOutputTokens: 0,
    prices: price(0.13, 0),
    capabilities: embedding,
    tokenizer: "cl100k",
    embeddingDimensions: 3_072,
  },
  // Anthropic: cache writes cost 1.25× input, cache reads 0.1×.
  {
    id: "claude-sonnet-4-6",
    provider: "anthropic",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    prices: price(3, 15, 0.3, 3.75),
    capabilities: withEffort(chat(true, true, "native")),
    tokenizer: "approx",
  },
  {
    id: "claude-haiku-4-5",
    provider: "anthropic",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    prices: price(1, 5, 0.1, 1.25),
    capabilities: withThinking(chat(true, true, "native")),
    tokenizer: "approx",
  },
  {
    id: "claude-opus-4-5",
    provider: "anthropic",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    prices: price(5, 25, 0.5, 6.25),
    capabilities: withEffort(chat(true, true, "native")),
    tokenizer: "approx",
  },
  // Google Gemini, through its OpenAI-compatible endpoint.
  {
    id: "gemini-2.5-flash",
    provider: "gemini",
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    prices: price(0.3, 2.5, 0.075),
    capabilities: withEffort(chat(true, true, "native"), ["none", "low", "medium", "high"]),
    tokenizer: "approx",
  },
  {
    id: "gemini-2.5-pro",
    provider: "gemini",
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    prices: price(1.25, 10, 0.31),
    capabilities: withEffort(chat(true, true, "native")),
    tokenizer: "approx",
  },
  {
    id: "gemini-embedding-001",
    provider: "gemini",
    contextWindow: 2_048,
    maxOutputTokens: 0,
    prices: price(0.15, 0),
    capabilities: embedding,
    tokenizer: "approx",
    embeddingDimensions: 3_072,
  },
  // Mistral
  {
    id: "mistral-large-latest",
    provider: "mistral",
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    prices: price(2, 6),
    capabilities: chat(true, false, "native"),
    tokenizer: "approx",
  },
  {
    id: "mistral-small-latest",
    provider: "mistral",
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    prices: price(0.1, 0.3),
    capabilities: chat(true, true, "native"),
    tokenizer: "approx",
  },
  {
    id: "mistral-embed",
    provider: "mistral",
    contextWindow: 8_192,
    maxOutputTokens: 0,
    prices: price(0.1, 0),
    capabilities: embedding,
    tokenizer: "approx",
    embeddingDimensions: 1_024,
  },
  // Groq
  {
    id: "llama-3.3-70b-versatile",
    provider: "groq",
    contextWindow: 131_072,
    maxOutputTokens: 32_768,
    prices: price(0.59, 0.79),
    capabilities: chat(true, false, "tool"),
    tokenizer: "approx",
  },
  {
    id: "llama-3.1-8b-instant",
    provider: "groq",
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    prices: price(0.05, 0.08),
    capabilities: chat(true, false, "tool"),
    tokenizer: "approx",
  },
  // OpenRouter
  {
    id: "openrouter/auto",
    provider: "openrouter",
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    prices: price(3, 15),
    capabilities: chat(true, true, "tool"),
    tokenizer: "approx",
  },
  // OpenRouter's free variants (`:free` ids, price 0; rate limited by OpenRouter, so the `free`
  // use case chains them). Windows as OpenRouter lists them; re-size with `LLM_MODELS`.
  ...([
    ["z-ai/glm-4.5-air:free", 131_072],
    ["deepseek/deepseek-chat-v3.1:free", 163_840],
    ["minimax/minimax-m2:free", 204_800],
    ["moonshotai/kimi-k2:free", 32_768],
    ["qwen/qwen3-coder:free", 262_144],
  ] as const).map(([id, contextWindow]): CatalogModel => ({
    id,
    provider: "openrouter",
    contextWindow,
    maxOutputTokens: 16_384,
    prices: price(0, 0),
    // Tools everywhere; no schema guarantee of their own behind OpenRouter, so a forced tool call.
    capabilities: chat(true, false, "tool"),
    tokenizer: "approx",
  })),
  // xAI
  {
    id: "grok-4",
    provider: "xai",
    contextWindow: 256_000,
    maxOutputTokens: 32_768,
    prices: price(3, 15, 0.75),
    capabilities: chat(true, true, "native"),
    tokenizer: "approx",
  },
  {
    id: "grok-3-mini",
    provider: "xai",
    contextWindow: 131_072,
    maxOutputTokens: 32_768,
    prices: price(0.3, 0.5, 0.075),
    capabilities: withEffort(chat(true, false, "native"), ["low", "high"]),
    tokenizer: "approx",
  },
  // DeepSeek
  {
    id: "deepseek-chat",
    provider: "deepseek",
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    prices: price(0.28, 0.42, 0.028),
    capabilities: chat(true, false, "tool"),
    tokenizer: "approx",
  },
  {
    id: "deepseek-reasoner",
    provider: "deepseek",
    contextWindow: 128_000,
    maxOutputTokens: 65_536,
    prices: price(0.28, 0.42, 0.028),
    capabilities: chat(false, false, "none", false),
    tokenizer: "approx",
  },
];

/** The use cases the router maps to model chains. */
export const USE_CASES = [
  "draft",
  "summary",
  "complex",
  "vision",
  "general",
  "voice",
  "embedding",
  /** Only free models (price 0): the cost-zero cascade. */
  "free",
] as const;
/** A use case. */
export type UseCase = (typeof USE_CASES)[number];

/** Default ordered chains per use case: the first available target is tried first. */
export const DEFAULT_USE_CASE_CHAINS: Readonly<Record<UseCase, readonly string[]>> = {
  draft: ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", "mistral-small-latest"],
  summary: ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", "llama-3.1-8b-instant"],
  complex: ["claude-sonnet-4-6", "gpt-4.1", "gemini-2.5-pro", "grok-4"],
  vision: ["gpt-4o", "claude-sonnet-4-6", "gemini-2.5-flash"],
  general: ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", "deepseek-chat"],
  voice: ["gpt-4.1-nano", "llama-3.1-8b-instant", "gpt-4o-mini", "claude-haiku-4-5"],
  embedding: ["text-embedding-3-small", "gemini-embedding-001", "mistral-embed"],
  free: [
    "z-ai/glm-4.5-air:free",
    "deepseek/deepseek-chat-v3.1:free",
    "minimax/minimax-m2:free",
    "moonshotai/kimi-k2:free",
    "qwen/qwen3-coder:free",
  ],
};

/** Agent tiers and the use case whose chain each starts from. */
export const DEFAULT_TIER_USE_CASES: Readonly<Record<string, UseCase>> = {
  strategy: "complex",
  analytical: "complex",
  writing: "draft",
  research: "complex",
  support: "general",
  assistant: "general",
  realtime: "voice",
};

/** A lookup over built-in models plus configured ones (which win on the same id). */
export class ModelCatalog {
  readonly #models = new Map<string, CatalogModel>();

  constructor(
    extra: readonly CatalogModel[] = [],
    builtIn: readonly CatalogModel[] = BUILT_IN_MODELS,
  ) {
    for (const model of builtIn) this.#models.set(model.id, model);
    for (const model of extra) this.#models.set(model.id, model);
  }

  /** The model with `id`, if known. */
  get(id: string): CatalogModel | undefined {
    return this.#models.get(id);
  }

  /** Every model, built-in first. */
  all(): CatalogModel[] {
    return [...this.#models.values()];
  }
}

/** Cost in USD of `usage` on `model`; cached and cache-write tokens are billed at their own prices, once. */
export function costOf(
  model: CatalogModel,
  usage: {
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens: number;
    cacheWriteTokens: number;
  },
): number {
  const uncached = Math.max(
    0,
    usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens,
  );
  const p = model.prices;
  return (
    uncached * p.input +
    usage.cachedInputTokens * p.cachedInput +
    usage.cacheWriteTokens * p.cacheWrite +
    usage.outputTokens * p.output
  ) / 1_000_000;
}

/**
 * The most `inputTokens` in and `outputTokens` out can cost on `model`: every
 * input token at the dearer of its plain and cache-write prices. What a
 * budget holds before the call.
 */
export function maxCostOf(model: CatalogModel, inputTokens: number, outputTokens: number): number {
  const p = model.prices;
  return (inputTokens * Math.max(p.input, p.cacheWrite) + outputTokens * p.output) / 1_000_000;
}

/** How `model` guarantees a JSON schema (see `StructuredOutputMode`; absent: by its tools). */
export function structuredOutputOf(model: CatalogModel): StructuredOutputMode {
  return model.capabilities.structuredOutput ?? (model.capabilities.tools ? "tool" : "none");
}

/** Which reasoning control `model` takes (see `ReasoningControl`; absent: none). */
export function reasoningControlOf(model: CatalogModel): ReasoningControl {
  return model.capabilities.reasoning ?? "none";
}

/** The effort levels `model` accepts, lowest first. */
export function reasoningEffortsOf(model: CatalogModel): readonly LLMReasoningEffort[] {
  return model.capabilities.reasoningEfforts ?? DEFAULT_EFFORTS;
}
