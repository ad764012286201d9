/**
 * Token budgeting: counts a conversation for a model and trims it to fit the
 * model's context window before any provider is called. Small requests are
 * proven to fit from their UTF-8 size alone, so only requests near their
 * budget load and run the tokenizer.
 */
import type { CatalogModel } from "./catalog.ts";
import { LLMError } from "./errors.ts";
import {
  conversationCost,
  droppableUnits,
  type EncoderFamily,
  type EncoderLoader,
  keptMessages,
  messageCost,
  sum,
  type TokenCounter,
  toolsCost,
  utf8Length,
  utf8UpperBound,
} from "./token-count.ts";
import type { LLMMessage, LLMSystemMessage, LLMTool } from "./types.ts";

export { IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS } from "./token-count.ts";
export type { EncoderFamily, EncoderLoader, TokenCounter } from "./token-count.ts";

/**
 * Factor applied to o200k counts for models without a public tokenizer
 * (Anthropic, Gemini, Mistral …). Their tokenizers can be denser than o200k;
 * over-counting costs a little context, under-counting costs a failed call.
 */
export const DEFAULT_APPROX_MULTIPLIER = 1.2;
/** Input tokens left unused by default, for provider-side framing we cannot see. */
export const DEFAULT_MARGIN_TOKENS = 256;
/** Output reserved when the request names no `maxTokens` (capped by the model's own maximum). */
export const DEFAULT_OUTPUT_RESERVE = 4_096;
/** How the summary of dropped turns is introduced to the model. */
export const SUMMARY_PREFIX = "Summary of the earlier conversation:\n";

/** Options of a `TokenBudgetManager`. */
export interface TokenBudgetOptions {
  /**
   * Loads a family's counter, once per family, only when a request comes
   * near its window (production: the gpt-tokenizer binding in _shared/tokenizer/).
   */
  loadEncoder: EncoderLoader;
  /** Factor for `approx` models (default 1.2). */
  approxMultiplier?: number;
}

/** What `fit` trims. */
export interface FitRequest {
  messages: LLMMessage[];
  tools?: LLMTool[];
  maxTokens?: number;
}

/** How `fit` trims. */
export interface FitOptions {
  /** Input tokens to leave unused (default 256). */
  marginTokens?: number;
  /** Turns dropped turns into a short text; called at most once per `fit`. */
  summarize?: (dropped: LLMMessage[]) => Promise<string>;
}

/** A request trimmed to its model. */
export interface FitResult {
  messages: LLMMessage[];
  /** Input tokens of what is sent, tools included; an upper bound when `estimatedBy` is "bytes". */
  inputTokens: number;
  /** How many messages were dropped. */
  droppedCount: number;
  /** Whether a summary of the dropped messages was inserted. */
  summarized: boolean;
  /** The output reserve: the request's `maxTokens` clamped to the model, or the default. */
  maxTokens: number;
  /** "bytes" when the request fit on its UTF-8 size and the tokenizer was never run. */
  estimatedBy: "bytes" | "tokenizer";
}

/** The input budget of one `fit`. */
interface Budget {
  maxTokens: number;
  margin: number;
  available: number;
}

/**
 * Counts and fits conversations. Create one per isolate and share it: it
 * caches the loaded tokenizers, which is why they live on the instance.
 */
export class TokenBudgetManager {
  readonly #loadEncoder: EncoderLoader;
  readonly #approxMultiplier: number;
  readonly #encoders = new Map<EncoderFamily, Promise<TokenCounter>>();

  constructor(options: TokenBudgetOptions) {
    const multiplier = options.approxMultiplier ?? DEFAULT_APPROX_MULTIPLIER;
    if (!Number.isFinite(multiplier) || multiplier <= 0) {
      throw new RangeError(`approxMultiplier must be a positive number, got ${multiplier}`);
    }
    this.#loadEncoder = options.loadEncoder;
    this.#approxMultiplier = multiplier;
  }

  /** Input tokens of `messages` (and `tools`) on `model`. Always runs the tokenizer. */
  async countMessages(
    messages: LLMMessage[],
    model: CatalogModel,
    tools?: LLMTool[],
  ): Promise<number> {
    const count = await this.#counter(model);
    return this.#scale(conversationCost(messages, tools, count), model);
  }

  /** Tokens of one text on `model`, without message overhead (e.g. an embedding input). */
  async countText(text: string, model: CatalogModel): Promise<number> {
    const count = await this.#counter(model);
    return this.#scale(count(text), model);
  }

  /**
   * Trims `request.messages` to fit `model`: keeps system and pinned messages
   * and everything from the last user message on, drops the oldest other
   * turns (a tool call with its results as one unit), and optionally replaces
   * them with a summary. Throws `TOKEN_LIMIT_EXCEEDED` when even the kept
   * messages do not fit.
   */
  async fit(
    request: FitRequest,
    model: CatalogModel,
    options: FitOptions = {},
  ): Promise<FitResult> {
    const budget = budgetFor(request, model, options.marginTokens ?? DEFAULT_MARGIN_TOKENS);
    const { messages, tools } = request;
    // Every token covers at least one byte, so bytes bound the count from above. Try the
    // free bound (3 bytes a character) first; most requests are far from their window.
    const rough = this.#scale(conversationCost(messages, tools, utf8UpperBound), model);
    if (rough <= budget.available) return unchanged(messages, rough, budget, "bytes");
    const bound = this.#scale(conversationCost(messages, tools, utf8Length), model);
    if (bound <= budget.available) return unchanged(messages, bound, budget, "bytes");

    const count = await this.#counter(model);
    const costs = messages.map((message) => messageCost(message, count));
    const toolTokens = toolsCost(tools, count);
    const fits = (base: number) => this.#scale(base + toolTokens, model) <= budget.available;
    const total = sum(costs);
    if (fits(total)) {
      return unchanged(messages, this.#scale(total + toolTokens, model), budget, "tokenizer");
    }

    const trimming: Trimming = {
      units: droppableUnits(messages),
      unitCost: (unit) => sum(unit.map((i) => costs[i])),
      fits,
    };
    const trimmed = dropUntil(trimming, total, 0);
    if (!fits(trimmed.base)) {
      throw tooLarge(this.#scale(trimmed.base + toolTokens, model), budget, model);
    }
    const plan = options.summarize
      ? await withSummary(trimming, trimmed, messages, options.summarize, count)
      : trimmed;
    const kept = keptMessages(messages, trimming.units.slice(0, plan.dropped), plan.summary);
    return {
      messages: kept,
      inputTokens: this.#scale(plan.base + toolTokens, model),
      droppedCount: messages.length - kept.length + (plan.summary ? 1 : 0),
      summarized: plan.summary !== undefined,
      maxTokens: budget.maxTokens,
      estimatedBy: "tokenizer",
    };
  }

  /** The model's counter, loading its family once even when first calls race. */
  #counter(model: CatalogModel): Promise<TokenCounter> {
    const family: EncoderFamily = model.tokenizer === "cl100k" ? "cl100k" : "o200k";
    const cached = this.#encoders.get(family);
    if (cached) return cached;
    const loading = Promise.resolve().then(() => this.#loadEncoder(family));
    this.#encoders.set(family, loading);
    // A failed load must not stick: the next request tries again.
    loading.catch(() => {
      if (this.#encoders.get(family) === loading) this.#encoders.delete(family);
    });
    return loading;
  }

  /** Exact families count as they are; anything else is o200k with the safety factor. */
  #scale(base: number, model: CatalogModel): number {
    const exact = model.tokenizer === "o200k" || model.tokenizer === "cl100k";
    return exact ? base : Math.ceil(base * this.#approxMultiplier);
  }
}

/** The droppable units of one conversation and how to price them. */
interface Trimming {
  units: number[][];
  unitCost: (unit: number[]) => number;
  /** Whether messages of this base count (tools added) fit the budget. */
  fits: (base: number) => boolean;
}

/** How many units (oldest first) go, the base count of what stays, and the summary if any. */
interface Plan {
  dropped: number;
  base: number;
  summary?: LLMSystemMessage;
}

function budgetFor(request: FitRequest, model: CatalogModel, margin: number): Budget {
  const wanted = request.maxTokens ?? Math.min(model.maxOutputTokens, DEFAULT_OUTPUT_RESERVE);
  const maxTokens = Math.min(wanted, model.maxOutputTokens);
  return { maxTokens, margin, available: model.contextWindow - maxTokens - margin };
}

function unchanged(
  messages: LLMMessage[],
  inputTokens: number,
  budget: Budget,
  estimatedBy: FitResult["estimatedBy"],
): FitResult {
  return {
    messages: messages.slice(),
    inputTokens,
    droppedCount: 0,
    summarized: false,
    maxTokens: budget.maxTokens,
    estimatedBy,
  };
}

/** Drops units oldest first, after the first `from` already dropped, until what stays fits. */
function dropUntil(trimming: Trimming, base: number, from: number): Plan {
  let dropped = from;
  while (!trimming.fits(base) && dropped < trimming.units.length) {
    base -= trimming.unitCost(trimming.units[dropped++]);
  }
  return { dropped, base };
}

/**
 * Summarizes what `trimmed` dropped (one call) and makes room for the
 * summary by dropping further turns, which the summary then does not cover.
 * When the summary cannot fit at all, the plain trim stands.
 */
async function withSummary(
  trimming: Trimming,
  trimmed: Plan,
  messages: LLMMessage[],
  summarize: (dropped: LLMMessage[]) => Promise<string>,
  count: TokenCounter,
): Promise<Plan> {
  const dropped = trimming.units.slice(0, trimmed.dropped).flat().sort((a, b) => a - b);
  const summary = await summaryMessage(summarize, dropped.map((i) => messages[i]));
  if (!summary) return trimmed;
  const plan = dropUntil(trimming, trimmed.base + messageCost(summary, count), trimmed.dropped);
  return trimming.fits(plan.base) ? { ...plan, summary } : trimmed;
}

/** Asks for a summary once; a failing or empty summary means trimming alone. */
async function summaryMessage(
  summarize: (dropped: LLMMessage[]) => Promise<string>,
  dropped: LLMMessage[],
): Promise<LLMSystemMessage | undefined> {
  try {
    const text = (await summarize(dropped)).trim();
    return text ? { role: "system", content: SUMMARY_PREFIX + text } : undefined;
  } catch {
    return undefined;
  }
}

function tooLarge(neededTokens: number, budget: Budget, model: CatalogModel): LLMError {
  const availableTokens = Math.max(0, budget.available);
  const message =
    `The request needs about ${neededTokens} input tokens even after dropping older turns, ` +
    `but ${model.id} has room for ${availableTokens} (context window ${model.contextWindow} - ` +
    `${budget.maxTokens} reserved for output - ${budget.margin} margin). ` +
    "Shorten the messages or lower maxTokens.";
  return new LLMError("TOKEN_LIMIT_EXCEEDED", message, {
    provider: model.provider,
    model: model.id,
    // A target with a larger window may still take it.
    fallback: true,
    details: {
      neededTokens,
      availableTokens,
      model: model.id,
      contextWindow: model.contextWindow,
      maxTokens: budget.maxTokens,
    },
  });
}
