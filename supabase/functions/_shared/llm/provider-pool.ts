/**
 * The providers one router may call: their specs (built in and configured),
 * the key each is called with (a tenant's own before the platform's), and
 * one adapter per provider, created on first use. A tenant with keys of its
 * own gets a pool of its own (through `LLMRouter.withApiKeys`), so no adapter
 * ever holds another tenant's key.
 */
import type { CatalogModel, ModelCatalog } from "./catalog.ts";
import { asLLMError, LLMError } from "./errors.ts";
import type { ProviderAdapter, ProviderAdapterInit, ProviderSpec } from "./providers/provider.ts";

/** What a pool is built from. */
export interface ProviderPoolOptions {
  specs: Iterable<ProviderSpec>;
  /** Platform keys by provider name. */
  keys: Readonly<Record<string, string | undefined>>;
  /** Base URL overrides by provider name. */
  baseUrls?: Readonly<Record<string, string | undefined>>;
  /** A tenant's own keys, used instead of the platform's for those providers. */
  apiKeyOverrides?: Readonly<Record<string, string>>;
  createAdapter: (init: ProviderAdapterInit) => ProviderAdapter;
  catalog: ModelCatalog;
  fetch?: typeof fetch;
  now: () => number;
}

/** A provider as a screen lists it. */
export interface ProviderListing {
  spec: ProviderSpec;
  hasKey: boolean;
  /** The key is the tenant's own. */
  accountKey: boolean;
}

/** The providers of one router, with their keys and adapters. */
export class ProviderPool {
  readonly #options: ProviderPoolOptions;
  readonly #specs = new Map<string, ProviderSpec>();
  readonly #adapters = new Map<string, ProviderAdapter>();

  constructor(options: ProviderPoolOptions) {
    this.#options = options;
    for (const spec of options.specs) this.#specs.set(spec.name, spec);
  }

  /** The provider named `name`, if known. */
  spec(name: string): ProviderSpec | undefined {
    return this.#specs.get(name);
  }

  /** Whether `spec` can be called: it has a key, or needs none. */
  hasKey(spec: ProviderSpec): boolean {
    return this.#keyFor(spec) !== undefined;
  }

  /** Every known provider with whether it has a key. */
  providers(): ProviderListing[] {
    return [...this.#specs.values()].map((spec) => ({
      spec,
      hasKey: this.hasKey(spec),
      accountKey: this.#options.apiKeyOverrides?.[spec.name] !== undefined,
    }));
  }

  /** Names of the providers that can be called. */
  available(): string[] {
    return [...this.#specs.values()].filter((spec) => this.hasKey(spec)).map((spec) => spec.name);
  }

  /** The adapter of `spec`, bound to its key (call only when `hasKey(spec)`). */
  adapter(spec: ProviderSpec): ProviderAdapter {
    let adapter = this.#adapters.get(spec.name);
    if (!adapter) {
      const { baseUrls, fetch: fetchImpl, now } = this.#options;
      adapter = this.#options.createAdapter({
        spec,
        apiKey: this.#keyFor(spec)!,
        baseUrl: baseUrls?.[spec.name] ?? spec.defaultBaseUrl,
        fetch: fetchImpl ?? ((input, init) => fetch(input, init)),
        now,
      });
      this.#adapters.set(spec.name, adapter);
    }
    return adapter;
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
    const spec = this.#specs.get(provider);
    if (!spec || !this.hasKey(spec)) {
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
      await this.adapter(spec).chat(
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
    for (const model of this.#options.catalog.all()) {
      if (model.provider !== provider || !model.capabilities.chat) continue;
      const price = model.prices.input + model.prices.output;
      if (!cheapest || price < cheapest.prices.input + cheapest.prices.output) cheapest = model;
    }
    return cheapest;
  }

  #keyFor(spec: ProviderSpec): string | undefined {
    const key = this.#options.apiKeyOverrides?.[spec.name] ?? this.#options.keys[spec.name];
    if (key) return key;
    return spec.requiresKey ? undefined : "no-key-required";
  }
}
