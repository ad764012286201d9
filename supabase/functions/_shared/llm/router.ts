/**
 * LLMRouter: chooses targets for a request and runs them. Per target it
 * retries retryable failures with jittered backoff, then falls back to the
 * next target; circuits open per provider+model; a stream is committed only
 * after its first upstream event, so an early failure still falls back.
 *
 * Everything it touches (config, keys, clock, fetch, breaker store,
 * preferences, token budget) comes in through the constructor: two routers
 * never share a key, and a tenant's own keys get a router of their own.
 */
import { type CatalogModel, costOf, ModelCatalog, type UseCase } from "./catalog.ts";
import type { RouterConfig } from "./config.ts";
import { asLLMError, LLMError } from "./errors.ts";
import { BUILT_IN_PROVIDERS, customProviderSpec } from "./providers/registry.ts";
import type { ProviderAdapter, ProviderAdapterInit, ProviderSpec } from "./providers/provider.ts";
import { abortableSleep } from "../runtime/sleep.ts";
import {
  type BreakerPolicy,
  type CircuitBreakerStore,
  MemoryCircuitBreakerStore,
} from "./resilience.ts";
import {
  candidateModels,
  type Candidates,
  missingCapability,
  needsOf,
  type PreferenceSource,
  type RouteInput,
  type RouteSource,
} from "./routing.ts";
import { TokenBudgetManager } from "./tokens.ts";
import { runToolLoop, type ToolLoopResult, ToolRegistry } from "./tools.ts";
import {
  type AttemptContext,
  type AttemptResult,
  type AttemptTarget,
  runAttempts,
} from "./attempts.ts";
import { utf8UpperBound } from "./token-count.ts";
import { openCommittedStream, type StreamCompletion } from "./committed-stream.ts";
import type {
  LLMChatRequest,
  LLMChatResponse,
  LLMEmbeddingRequest,
  LLMEmbeddingResponse,
  LLMMessage,
  LLMStreamEvent,
} from "./types.ts";

/** Everything a router is built from. */
export interface LLMRouterOptions {
  config: RouterConfig;
  /** Platform keys by provider name (`openai`, `anthropic` …). */
  keys: Readonly<Record<string, string | undefined>>;
  /** Base URL overrides by provider name (the mock, a proxy, a self-hosted server). */
  baseUrls?: Readonly<Record<string, string | undefined>>;
  /** A tenant's own keys (BYOK), used instead of the platform's for those providers. */
  apiKeyOverrides?: Readonly<Record<string, string>>;
  /** Creates provider adapters; tests pass in-memory fakes. */
  createAdapter: (init: ProviderAdapterInit) => ProviderAdapter;
  clock?: { now(): number };
  fetch?: typeof fetch;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Shared circuit state, or a factory given the configured policy; each
   * router gets a private in-memory one by default.
   */
  breakers?: CircuitBreakerStore | ((policy: BreakerPolicy) => CircuitBreakerStore);
  /** Prefix of circuit keys, so a tenant's key failures do not open the platform's circuits. */
  breakerScope?: string;
  preferences?: PreferenceSource;
  tokens?: TokenBudgetManager;
  /** Tools the router may run itself in a tool loop. */
  tools?: ToolRegistry;
}

/** A target's permission to run, from a `TargetGate`. */
export interface Admission {
  /** The target served the request at `costUsd`. */
  settle(costUsd: number): void;
  /** The target was not used after all (it failed, or the caller left). */
  release(): void;
}

/**
 * Decides, before a target's first attempt, whether it may run: budgets hold
 * its maximum cost, per-model ceilings count it. Throws an LLMError to refuse
 * (with `fallback`, the next target is tried instead).
 */
export interface TargetGate {
  admit(target: PlannedTarget): Promise<Admission>;
}

/** A chat request with where it should go. */
export interface RouteRequest extends RouteInput {
  chat: LLMChatRequest;
  /** Summarize trimmed turns (default from config). */
  summarizeTrimmed?: boolean;
  /** Guards each target must pass (the gateway's budgets and model ceilings). */
  gate?: TargetGate;
}

/** A target ready to call: the model, its provider and the request fitted to its window. */
export interface PlannedTarget {
  model: CatalogModel;
  spec: ProviderSpec;
  request: LLMChatRequest;
  droppedMessages: number;
  /** Input tokens as sent (an upper bound when estimated from bytes). */
  inputTokens: number;
}

/** Why a candidate was not used. */
export interface SkippedTarget {
  model: string;
  reason: string;
  /** The error behind the reason, when there was one (a window overflow carries its numbers). */
  error?: LLMError;
}

/** The full plan for a request: what would be tried, in order, and what was left out. */
export interface RoutePlan {
  candidates: Candidates;
  targets: PlannedTarget[];
  skipped: SkippedTarget[];
}

/** How a request was served. */
export interface RouteOutcome {
  provider: string;
  model: string;
  /** Provider calls made, retries and fallbacks included. */
  attempts: number;
  /** 0 when the first target served, 1 for the first fallback … */
  fallbackIndex: number;
  source: RouteSource;
  useCase: UseCase;
  trimmedMessages: number;
  /** Time spent waiting on providers (a stream: until its first event). */
  upstreamMs: number;
  /** Time spent in backoff between attempts. */
  waitedMs: number;
}

/** A finished, routed answer. */
export interface RoutedChat extends LLMChatResponse {
  route: RouteOutcome;
  costUsd: number;
}

/** A committed stream: the first event already arrived from `route.provider`. */
export interface RoutedStream {
  route: RouteOutcome;
  events: AsyncIterable<LLMStreamEvent>;
  /** Resolves when the stream ends: usage and cost on success, the error otherwise. */
  completion: Promise<StreamCompletion>;
  /** Stops the upstream call (the caller went away). */
  abort(): void;
}

const SUMMARY_PROMPT =
  "Summarize the conversation below for the assistant who will continue it: keep facts, decisions, open questions and names; be brief.";

/** The router. Construct one per isolate (or per tenant key set). */
export class LLMRouter {
  readonly catalog: ModelCatalog;
  readonly #options: LLMRouterOptions;
  readonly #config: RouterConfig;
  readonly #providers = new Map<string, ProviderSpec>();
  readonly #adapters = new Map<string, ProviderAdapter>();
  readonly #breakers: CircuitBreakerStore;
  readonly #tokens: TokenBudgetManager;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(options: LLMRouterOptions) {
    this.#options = options;
    this.#config = options.config;
    this.catalog = new ModelCatalog(options.config.extraModels);
    for (const spec of BUILT_IN_PROVIDERS) this.#providers.set(spec.name, spec);
    for (const custom of options.config.customProviders) {
      this.#providers.set(custom.name, customProviderSpec(custom));
    }
    this.#breakers = typeof options.breakers === "function"
      ? options.breakers(options.config.breaker)
      : options.breakers ?? new MemoryCircuitBreakerStore(options.config.breaker);
    this.#tokens = options.tokens ?? new TokenBudgetManager();
    const clock = options.clock ?? { now: Date.now };
    this.#now = () => clock.now();
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? abortableSleep;
  }

  /** A router like this one but using `keys` for those providers (BYOK). Nothing is shared but config. */
  withApiKeys(keys: Readonly<Record<string, string>>, breakerScope: string): LLMRouter {
    return new LLMRouter({ ...this.#options, apiKeyOverrides: keys, breakerScope });
  }

  /** The ordered candidates for `input` before filtering: what a preferences screen shows. */
  candidates(input: RouteInput): Promise<Candidates> {
    return candidateModels(input, this.#config, this.#options.preferences);
  }

  /** Every provider this router knows (built-in and configured), with whether it has a key. */
  providers(): { spec: ProviderSpec; hasKey: boolean; accountKey: boolean }[] {
    return [...this.#providers.values()].map((spec) => ({
      spec,
      hasKey: this.#keyFor(spec) !== undefined,
      accountKey: this.#options.apiKeyOverrides?.[spec.name] !== undefined,
    }));
  }

  /** Provider names with a usable key. */
  availableProviders(): string[] {
    return [...this.#providers.values()].filter((spec) => this.#keyFor(spec) !== undefined).map((
      spec,
    ) => spec.name);
  }

  /**
   * Pings `provider` once: its cheapest chat model (input + output price), one
   * "ping", one output token, through the adapter directly. No retries, no
   * fallback and no breaker writes, so a health check never moves a circuit
   * that real traffic relies on. Throws the adapter's `LLMError` on failure,
   * `NO_PROVIDER` when the provider is unknown, keyless or has no chat model.
   */
  async probe(
    provider: string,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<{ model: string; latencyMs: number }> {
    const spec = this.#providers.get(provider);
    if (!spec || this.#keyFor(spec) === undefined) {
      throw new LLMError("NO_PROVIDER", `${provider} is not configured or has no API key`, {
        provider,
      });
    }
    const model = this.#cheapestChatModel(provider);
    if (!model) {
      throw new LLMError("NO_PROVIDER", `${provider} has no chat model in the catalog`, {
        provider,
      });
    }
    // Wall time, not the injected clock: a test's frozen clock must not hide a slow provider.
    const started = performance.now();
    try {
      await this.#adapter(spec).chat(
        { messages: [{ role: "user", content: "ping" }], maxTokens: 1, model: model.id },
        { model: model.id, signal },
      );
    } catch (error) {
      throw asLLMError(error, { provider, model: model.id });
    }
    return { model: model.id, latencyMs: Math.round(performance.now() - started) };
  }

  #cheapestChatModel(provider: string): CatalogModel | undefined {
    let cheapest: CatalogModel | undefined;
    for (const model of this.catalog.all()) {
      if (model.provider !== provider || !model.capabilities.chat) continue;
      const price = model.prices.input + model.prices.output;
      if (!cheapest || price < cheapest.prices.input + cheapest.prices.output) cheapest = model;
    }
    return cheapest;
  }

  /** Every target that would be tried for `request`, in order, and why others were skipped. */
  async plan(
    request: RouteRequest,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<RoutePlan> {
    const candidates = await candidateModels(request, this.#config, this.#options.preferences);
    const skipped: SkippedTarget[] = [];
    const targets: PlannedTarget[] = [];
    for await (const target of this.#chatTargets(request, candidates, skipped, signal)) {
      targets.push(target);
    }
    return { candidates, targets, skipped };
  }

  /** Routes a chat request to a finished answer. */
  async chat(request: RouteRequest, signal: AbortSignal): Promise<RoutedChat> {
    const candidates = await candidateModels(request, this.#config, this.#options.preferences);
    const skipped: SkippedTarget[] = [];
    const result = await runAttempts(
      this.#attemptTargets(this.#chatTargets(request, candidates, skipped, signal)),
      (target, attempt) =>
        this.#adapter(target.spec).chat(target.planned.request, {
          model: target.model.id,
          signal: attempt.signal,
        }),
      this.#attemptContext(this.#config.timeouts.requestMs, signal, skipped, request.gate),
    );
    const costUsd = costOf(result.target.model, result.value.usage);
    result.admission?.settle(costUsd);
    return { ...result.value, costUsd, route: this.#outcome(result, candidates) };
  }

  /** Routes a chat request to a stream, committed once its first event arrived. */
  async stream(request: RouteRequest, signal: AbortSignal): Promise<RoutedStream> {
    const candidates = await candidateModels(request, this.#config, this.#options.preferences);
    const skipped: SkippedTarget[] = [];
    const result = await runAttempts(
      this.#attemptTargets(this.#chatTargets(request, candidates, skipped, signal)),
      (target, attempt) =>
        openCommittedStream(
          this.#adapter(target.spec),
          target.planned.request,
          target.model,
          attempt,
          this.#config.timeouts.idleMs,
          {
            onSuccess: () =>
              this.#breakers.recordSuccess(target.breakerKey, this.#now()).then(() => {}),
            onFailure: (error) => this.#recordFailure(target.breakerKey, error),
          },
        ),
      {
        ...this.#attemptContext(
          this.#config.timeouts.firstEventMs,
          signal,
          skipped,
          request.gate,
        ),
        keepSignalOnSuccess: true,
      },
    );
    const admission = result.admission;
    if (admission) {
      result.value.completion.then((end) =>
        end.ok ? admission.settle(end.costUsd) : admission.release()
      );
    }
    return { ...result.value, route: this.#outcome(result, candidates) };
  }

  /** Runs registered tools the model calls, up to `maxSteps` model calls; cost and usage summed. */
  async chatWithTools(
    request: RouteRequest,
    maxSteps: number,
    signal: AbortSignal,
  ): Promise<ToolLoopResult & { route: RouteOutcome; costUsd: number }> {
    const registry = this.#options.tools ?? new ToolRegistry();
    const own = request.chat.tools ?? [];
    const tools = [
      ...own,
      ...registry.definitions().filter((t) => !own.some((o) => o.name === t.name)),
    ];
    let route: RouteOutcome | undefined;
    let costUsd = 0;
    const result = await runToolLoop(
      request.chat.messages,
      registry,
      maxSteps,
      signal,
      async (messages) => {
        const answer = await this.chat({
          ...request,
          chat: { ...request.chat, messages, tools: tools.length ? tools : undefined },
        }, signal);
        route = answer.route;
        costUsd += answer.costUsd;
        return answer;
      },
    );
    return { ...result, route: route!, costUsd };
  }

  /** Embeds texts; falls back only to models producing vectors of the same size. */
  async embed(
    request: LLMEmbeddingRequest & {
      accountId?: string;
      modelOverride?: string;
      gate?: TargetGate;
    },
    signal: AbortSignal,
  ): Promise<LLMEmbeddingResponse & { route: RouteOutcome; costUsd: number }> {
    const skipped: SkippedTarget[] = [];
    const chain = request.modelOverride
      ? [request.modelOverride]
      : this.#config.useCaseChains.embedding;
    const candidates: Candidates = {
      models: chain,
      source: request.modelOverride ? "override" : "use-case",
      useCase: "embedding",
    };
    const result = await runAttempts(
      this.#attemptTargets(
        this.#embeddingTargets(chain, request.dimensions, inputBound(request.input), skipped),
      ),
      (target, attempt) =>
        this.#adapter(target.spec).embed!(
          { input: request.input, dimensions: request.dimensions },
          { model: target.model.id, signal: attempt.signal },
        ),
      this.#attemptContext(this.#config.timeouts.requestMs, signal, skipped, request.gate),
    );
    const usage = {
      inputTokens: result.value.usage.inputTokens,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
    };
    const costUsd = costOf(result.target.model, usage);
    result.admission?.settle(costUsd);
    return { ...result.value, costUsd, route: this.#outcome(result, candidates) };
  }

  async *#chatTargets(
    request: RouteRequest,
    candidates: Candidates,
    skipped: SkippedTarget[],
    signal: AbortSignal,
  ): AsyncGenerator<PlannedTarget> {
    const chat = withAgentParams(request.chat, candidates.params);
    const needs = needsOf(chat);
    // One summary per request: each target that needs trimming would otherwise pay for its own.
    const summaries = new Map<number, Promise<string>>();
    const summarize = (request.summarizeTrimmed ?? this.#config.summarizeTrimmed)
      ? (dropped: LLMMessage[]) => {
        let summary = summaries.get(dropped.length);
        if (!summary) {
          summary = this.#summarize(dropped, request, signal);
          summaries.set(dropped.length, summary);
        }
        return summary;
      }
      : undefined;
    for (const id of candidates.models) {
      const model = this.catalog.get(id);
      if (!model) {
        skipped.push({ model: id, reason: "not in the catalog" });
        continue;
      }
      const spec = this.#providers.get(model.provider);
      const missing = missingCapability(model, needs);
      const reason = !spec
        ? `provider ${model.provider} is not configured`
        : this.#keyFor(spec) === undefined
        ? `no API key for ${spec.name}`
        : missing
        ? `no ${missing} support`
        : undefined;
      if (reason) {
        skipped.push({ model: id, reason });
        continue;
      }
      let fitted;
      try {
        fitted = await this.#tokens.fit(chat, model, {
          marginTokens: this.#config.marginTokens,
          summarize,
        });
      } catch (error) {
        if (error instanceof LLMError && error.code === "TOKEN_LIMIT_EXCEEDED") {
          skipped.push({ model: id, reason: "context window too small", error });
          continue;
        }
        throw error;
      }
      yield {
        model,
        spec: spec!,
        request: {
          ...chat,
          messages: fitted.messages,
          maxTokens: fitted.maxTokens,
          model: model.id,
        },
        droppedMessages: fitted.droppedCount,
        inputTokens: fitted.inputTokens,
      };
    }
  }

  async *#embeddingTargets(
    chain: readonly string[],
    dimensions: number | undefined,
    inputTokens: number,
    skipped: SkippedTarget[],
  ) {
    let size = dimensions;
    for (const id of chain) {
      const model = this.catalog.get(id);
      const spec = model && this.#providers.get(model.provider);
      const reason = !model
        ? "not in the catalog"
        : !model.capabilities.embeddings
        ? "not an embedding model"
        : !spec || this.#keyFor(spec) === undefined
        ? `no API key for ${model.provider}`
        : !this.#adapter(spec).embed
        ? `${spec.name} serves no embeddings`
        : size !== undefined && dimensions === undefined && model.embeddingDimensions !== size
        ? "different vector size than the first choice"
        : undefined;
      if (reason) {
        skipped.push({ model: id, reason });
        continue;
      }
      size ??= model!.embeddingDimensions;
      yield {
        model: model!,
        spec: spec!,
        request: { messages: [], maxTokens: 0 },
        droppedMessages: 0,
        inputTokens,
      } satisfies PlannedTarget;
    }
  }

  async *#attemptTargets(targets: AsyncIterable<PlannedTarget>): AsyncGenerator<AttemptTarget> {
    const scope = this.#options.breakerScope ?? "platform";
    for await (const planned of targets) {
      yield {
        planned,
        model: planned.model,
        spec: planned.spec,
        breakerKey: `${scope}:${planned.spec.name}:${planned.model.id}`,
      };
    }
  }

  #attemptContext(
    timeoutMs: number,
    signal: AbortSignal,
    skipped: SkippedTarget[],
    gate: TargetGate | undefined,
  ): AttemptContext {
    return {
      ...(gate ? { admit: (target: AttemptTarget) => gate.admit(target.planned) } : {}),
      timeoutMs,
      signal,
      skipped,
      retry: this.#config.retry,
      random: this.#random,
      sleep: this.#sleep,
      now: this.#now,
      breakers: this.#breakers,
    };
  }

  #recordFailure(key: string, error: LLMError): Promise<void> {
    if (!error.retryable) return Promise.resolve();
    return this.#breakers.recordFailure(key, this.#now()).then(() => {});
  }

  #outcome(result: AttemptResult<unknown>, candidates: Candidates): RouteOutcome {
    return {
      provider: result.target.spec.name,
      model: result.target.model.id,
      attempts: result.attempts,
      fallbackIndex: result.fallbackIndex,
      source: candidates.source,
      useCase: candidates.useCase,
      trimmedMessages: result.target.planned.droppedMessages,
      upstreamMs: result.upstreamMs,
      waitedMs: result.waitedMs,
    };
  }

  #keyFor(spec: ProviderSpec): string | undefined {
    const key = this.#options.apiKeyOverrides?.[spec.name] ?? this.#options.keys[spec.name];
    if (key) return key;
    return spec.requiresKey ? undefined : "no-key-required";
  }

  #adapter(spec: ProviderSpec): ProviderAdapter {
    let adapter = this.#adapters.get(spec.name);
    if (!adapter) {
      adapter = this.#options.createAdapter({
        spec,
        apiKey: this.#keyFor(spec)!,
        baseUrl: this.#options.baseUrls?.[spec.name] ?? spec.defaultBaseUrl,
        fetch: this.#options.fetch ?? ((input, init) => fetch(input, init)),
        now: this.#now,
      });
      this.#adapters.set(spec.name, adapter);
    }
    return adapter;
  }

  async #summarize(
    dropped: LLMMessage[],
    request: RouteRequest,
    signal: AbortSignal,
  ): Promise<string> {
    const transcript = dropped.map((m) =>
      `${m.role}: ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`
    )
      .join("\n");
    const answer = await this.chat({
      useCase: "summary",
      accountId: request.accountId,
      // The summary is spent on this request: the same budgets pay for it.
      gate: request.gate,
      summarizeTrimmed: false,
      chat: {
        messages: [{ role: "system", content: SUMMARY_PROMPT }, {
          role: "user",
          content: transcript,
        }],
        maxTokens: 512,
      },
    }, signal);
    return answer.text;
  }
}

/** Tokens of embedding inputs, bounded from above by their UTF-8 size. */
function inputBound(input: readonly string[]): number {
  let bound = 0;
  for (const text of input) bound += utf8UpperBound(text);
  return bound;
}

function withAgentParams(chat: LLMChatRequest, params: Candidates["params"]): LLMChatRequest {
  if (!params) return chat;
  return {
    ...chat,
    temperature: chat.temperature ?? params.temperature,
    maxTokens: chat.maxTokens ?? params.maxTokens,
    topP: chat.topP ?? params.topP,
  };
}

export { asLLMError };
