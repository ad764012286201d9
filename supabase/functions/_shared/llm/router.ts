/**
 * LLMRouter: the facade over the provider pool (keys, adapters, probes), the
 * planner (candidates → targets, with typed skip reasons) and the runner
 * (attempts, retries, fallbacks, committed streams, one request deadline).
 * It adds what spans them: the request's deadline, cost from the catalog,
 * the route a caller sees, tool loops, and summaries of trimmed turns.
 *
 * Everything it touches (config, keys, clock, fetch, breaker store,
 * preferences, token budget) comes in through the constructor: two routers
 * never share a key, and a tenant's own keys get a router of their own.
 */
import { costOf, ModelCatalog } from "./catalog.ts";
import type { RouterConfig } from "./config.ts";
import { PLATFORM_SCOPE } from "./circuit-key.ts";
import { Planner, type Summarizer } from "./planner.ts";
import { type DeploymentListing, type ProviderListing, ProviderPool } from "./provider-pool.ts";
import { BUILT_IN_PROVIDERS, customProviderSpec } from "./providers/registry.ts";
import type { ProviderAdapter, ProviderAdapterInit } from "./providers/provider.ts";
import { abortableSleep } from "../runtime/sleep.ts";
import {
  type BreakerPolicy,
  type CircuitBreakerStore,
  MemoryCircuitBreakerStore,
} from "./resilience.ts";
import type { Candidates, PreferenceSource, RouteInput } from "./routing.ts";
import type {
  PlannedTarget,
  RoutedChat,
  RoutedEmbedding,
  RoutedStream,
  RouteEmbeddingRequest,
  RouteOutcome,
  RoutePlan,
  RouteRequest,
} from "./route-types.ts";
import { Runner, type RunResult } from "./runner.ts";
import type { SkippedTarget } from "./skip-reason.ts";
import type { TokenBudgetManager } from "./tokens.ts";
import { runToolLoop, type ToolLoopResult, ToolRegistry } from "./tools.ts";
import type { LLMMessage } from "./types.ts";

/** Everything a router is built from. */
export interface LLMRouterOptions {
  config: RouterConfig;
  /** Platform keys by provider name (`openai`, `anthropic` …). */
  keys: Readonly<Record<string, string | undefined>>;
  /** Base URL overrides by provider name (the mock, a proxy, a self-hosted server). */
  baseUrls?: Readonly<Record<string, string | undefined>>;
  /** A tenant's own keys (BYOK), used instead of the platform's for those providers. */
  apiKeyOverrides?: Readonly<Record<string, string>>;
  /** The keys of `config.deployments`, by the env name each deployment references (`keyEnv`). */
  deploymentKeys?: Readonly<Record<string, string | undefined>>;
  /** Creates provider adapters; tests pass in-memory fakes. */
  createAdapter: (init: ProviderAdapterInit) => ProviderAdapter;
  /**
   * Counts and fits conversations. Required: the core binds no tokenizer
   * itself (the composition root passes one bound to gpt-tokenizer).
   */
  tokens: TokenBudgetManager;
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
  /** Tools the router may run itself in a tool loop. */
  tools?: ToolRegistry;
  /** The models; by default the built-in catalog plus `config.extraModels`. */
  catalog?: ModelCatalog;
}

const SUMMARY_PROMPT =
  "Summarize the conversation below for the assistant who will continue it: keep facts, decisions, open questions and names; be brief.";

/** The router. Construct one per isolate (or per tenant key set). */
export class LLMRouter {
  readonly catalog: ModelCatalog;
  readonly #options: LLMRouterOptions;
  readonly #config: RouterConfig;
  readonly #pool: ProviderPool;
  readonly #planner: Planner;
  readonly #runner: Runner;
  readonly #breakers: CircuitBreakerStore;
  readonly #now: () => number;

  constructor(options: LLMRouterOptions) {
    this.#options = options;
    this.#config = options.config;
    this.catalog = options.catalog ?? new ModelCatalog(options.config.extraModels);
    this.#breakers = typeof options.breakers === "function"
      ? options.breakers(options.config.breaker)
      : options.breakers ?? new MemoryCircuitBreakerStore(options.config.breaker);
    const clock = options.clock ?? { now: Date.now };
    this.#now = () => clock.now();
    const random = options.random ?? Math.random;
    this.#pool = new ProviderPool({
      specs: [...BUILT_IN_PROVIDERS, ...options.config.customProviders.map(customProviderSpec)],
      keys: options.keys,
      baseUrls: options.baseUrls,
      apiKeyOverrides: options.apiKeyOverrides,
      createAdapter: options.createAdapter,
      catalog: this.catalog,
      deployments: options.config.deployments,
      deploymentKeys: options.deploymentKeys,
      fetch: options.fetch,
      now: this.#now,
    });
    this.#planner = new Planner({
      catalog: this.catalog,
      providers: this.#pool,
      config: options.config,
      tokens: options.tokens,
      preferences: options.preferences,
      random,
    });
    this.#runner = new Runner({
      adapters: this.#pool,
      config: options.config,
      breakers: this.#breakers,
      breakerScope: options.breakerScope ?? PLATFORM_SCOPE,
      now: this.#now,
      random,
      sleep: options.sleep ?? abortableSleep,
    });
  }

  /**
   * A router like this one but calling with `keys` for those providers
   * (BYOK), its circuits under `breakerScope`. It shares the catalog, the
   * circuit store and the token budget; no adapter and no key.
   */
  withApiKeys(keys: Readonly<Record<string, string>>, breakerScope: string): LLMRouter {
    return new LLMRouter({
      ...this.#options,
      apiKeyOverrides: keys,
      breakerScope,
      catalog: this.catalog,
      breakers: this.#breakers,
    });
  }

  /** The ordered candidates for `input` before filtering: what a preferences screen shows. */
  candidates(input: RouteInput): Promise<Candidates> {
    return this.#planner.candidates(input);
  }

  /** Every provider this router knows (built-in and configured), with whether it has a key. */
  providers(): ProviderListing[] {
    return this.#pool.providers();
  }

  /** Provider names with a usable key. */
  availableProviders(): string[] {
    return this.#pool.available();
  }

  /** The deployments this router routes to (those with a key), never their keys. */
  deployments(): readonly DeploymentListing[] {
    return this.#pool.deployments();
  }

  /**
   * Every env name a key of this router is read from: the providers' and the
   * deployments' (set or not), so a logger can scrub their values.
   */
  keyEnvNames(): string[] {
    const names = new Set(this.#pool.providers().map(({ spec }) => spec.keyEnv));
    for (const deployments of Object.values(this.#config.deployments)) {
      for (const { keyEnv } of deployments) if (keyEnv !== undefined) names.add(keyEnv);
    }
    return [...names];
  }

  /** Pings `provider` once with its cheapest chat model; see `ProviderPool.probe`. */
  probe(
    provider: string,
    signal?: AbortSignal,
  ): Promise<{ model: string; latencyMs: number }> {
    return this.#pool.probe(provider, signal);
  }

  /** Every target that would be tried for `request`, in order, and why others were skipped. */
  async plan(
    request: RouteRequest,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<RoutePlan> {
    const candidates = await this.#planner.candidates(request);
    const skipped: SkippedTarget[] = [];
    const targets: PlannedTarget[] = [];
    const deadlineAt = this.#deadlineOf(request);
    const summarize = this.#summarizer(request, deadlineAt, signal);
    for await (const target of this.#planner.chatTargets(request, candidates, skipped, summarize)) {
      targets.push(target);
    }
    return { candidates, targets, skipped };
  }

  /** Routes a chat request to a finished answer. */
  async chat(request: RouteRequest, signal: AbortSignal): Promise<RoutedChat> {
    const deadlineAt = this.#deadlineOf(request);
    const candidates = await this.#planner.candidates(request);
    const skipped: SkippedTarget[] = [];
    const summarize = this.#summarizer(request, deadlineAt, signal);
    const result = await this.#runner.chat(
      this.#planner.chatTargets(request, candidates, skipped, summarize),
      { signal, skipped, gate: request.gate, deadlineAt },
    );
    const costUsd = costOf(result.target.model, result.value.usage);
    result.admission?.settle(costUsd);
    return { ...result.value, costUsd, route: outcome(result, candidates, skipped) };
  }

  /**
   * Routes a chat request to a stream, committed once its first event arrived
   * or, failing that, after `LLM_STREAM_COMMIT_AFTER_MS`.
   */
  async stream(request: RouteRequest, signal: AbortSignal): Promise<RoutedStream> {
    const deadlineAt = this.#deadlineOf(request);
    const candidates = await this.#planner.candidates(request);
    const skipped: SkippedTarget[] = [];
    const summarize = this.#summarizer(request, deadlineAt, signal);
    const result = await this.#runner.stream(
      this.#planner.chatTargets(request, candidates, skipped, summarize),
      { signal, skipped, gate: request.gate, deadlineAt },
    );
    const admission = result.admission;
    const stream = result.value;
    if (admission) {
      stream.completion.then((end) => end.ok ? admission.settle(end.costUsd) : admission.release());
    }
    return {
      route: outcome(result, candidates, skipped),
      events: stream.events,
      completion: stream.completion,
      abort: stream.abort,
      firstEvent: stream.firstEvent,
      heartbeatMs: this.#config.timeouts.heartbeatMs,
    };
  }

  /**
   * Runs registered tools the model calls, up to `maxSteps` model calls;
   * cost and usage summed. Every step shares the request's deadline.
   */
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
    const deadlineAt = this.#deadlineOf(request);
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
          deadlineAt,
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
  async embed(request: RouteEmbeddingRequest, signal: AbortSignal): Promise<RoutedEmbedding> {
    const deadlineAt = request.deadlineAt ?? this.#now() + this.#config.timeouts.deadlineMs;
    const skipped: SkippedTarget[] = [];
    const chain = request.modelOverride
      ? [request.modelOverride]
      : this.#config.useCaseChains.embedding;
    const candidates: Candidates = {
      models: chain,
      source: request.modelOverride ? "override" : "use-case",
      useCase: "embedding",
    };
    const result = await this.#runner.embed(
      this.#planner.embeddingTargets(
        chain,
        request.dimensions,
        request.input,
        skipped,
        request.maxPricePerMTok,
      ),
      request,
      { signal, skipped, gate: request.gate, deadlineAt },
    );
    const usage = {
      inputTokens: result.value.usage.inputTokens,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
    };
    const costUsd = costOf(result.target.model, usage);
    result.admission?.settle(costUsd);
    return { ...result.value, costUsd, route: outcome(result, candidates, skipped) };
  }

  #deadlineOf(request: RouteRequest): number {
    return request.deadlineAt ?? this.#now() + this.#config.timeouts.deadlineMs;
  }

  /** Summaries of trimmed turns for `request`, when it (or the config) asks for them. */
  #summarizer(
    request: RouteRequest,
    deadlineAt: number,
    signal: AbortSignal,
  ): Summarizer | undefined {
    if (!(request.summarizeTrimmed ?? this.#config.summarizeTrimmed)) return undefined;
    return (dropped) => this.#summarize(dropped, request, deadlineAt, signal);
  }

  async #summarize(
    dropped: LLMMessage[],
    request: RouteRequest,
    deadlineAt: number,
    signal: AbortSignal,
  ): Promise<string> {
    const transcript = dropped.map((m) =>
      `${m.role}: ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`
    ).join("\n");
    const answer = await this.chat({
      useCase: "summary",
      accountId: request.accountId,
      // The summary is spent on this request: the same budgets, price ceiling and deadline.
      gate: request.gate,
      maxPricePerMTok: request.maxPricePerMTok,
      deadlineAt,
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

/** The route a caller sees for a run's result. */
function outcome(
  result: RunResult<unknown>,
  candidates: Candidates,
  skipped: readonly SkippedTarget[],
): RouteOutcome {
  const route: RouteOutcome = {
    provider: result.target.spec.name,
    model: result.target.model.id,
    attempts: result.attempts,
    fallbackIndex: result.fallbackIndex,
    source: candidates.source,
    useCase: candidates.useCase,
    trimmedMessages: result.target.droppedMessages,
    upstreamMs: result.upstreamMs,
    waitedMs: result.waitedMs,
    ...(result.target.warnings.length > 0 ? { warnings: [...result.target.warnings] } : {}),
    ...(skipped.length > 0 ? { skipped: [...skipped] } : {}),
  };
  // Set only when there is one: a model without deployments keeps the route it always had.
  const deployment = result.target.deployment;
  if (deployment) route.deployment = deployment.name;
  return route;
}
