/**
 * The providers one router may call: their specs (built in and configured),
 * the key each is called with (a tenant's own before the platform's), the
 * deployments of models served from several places, and one adapter per
 * provider and per deployment's key and endpoint, created on first use and
 * kept. A tenant with keys of its own gets a pool of its own (through
 * `LLMRouter.withApiKeys`), so no adapter ever holds another tenant's key;
 * its own key for a provider also replaces the platform's deployments of that
 * provider's models, so neither a platform key nor a mirror ever sees its
 * requests.
 */
import type { CatalogModel, ModelCatalog } from "./catalog.ts";
import type { DeploymentsByModel } from "./deployment-config.ts";
import type { Deployment } from "./deployments.ts";
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
  /** Models served from several deployments; a model not listed has one, its provider. */
  deployments?: DeploymentsByModel;
  /** The deployments' keys, by the env name each references (`keyEnv`). */
  deploymentKeys?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  now: () => number;
}

/** A deployment as a screen or the startup summary lists it (never its key). */
export interface DeploymentListing {
  model: string;
  provider: string;
  deployment: Deployment;
  baseUrl: string;
  /** The env var its key is read from; absent: the provider's own key. */
  keyEnv?: string;
}

/** Where a deployment's calls go, and with which key. */
interface DeploymentBinding {
  apiKey: string;
  baseUrl: string;
  /** Deployments with the same provider, endpoint and key share one adapter. */
  adapterKey: string;
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
  readonly #deployments = new Map<string, readonly Deployment[]>();
  readonly #bindings = new Map<Deployment, DeploymentBinding>();
  readonly #listing: DeploymentListing[] = [];

  constructor(options: ProviderPoolOptions) {
    this.#options = options;
    for (const spec of options.specs) this.#specs.set(spec.name, spec);
    for (const [id, configs] of Object.entries(options.deployments ?? {})) {
      const model = options.catalog.get(id);
      const spec = model && this.#specs.get(model.provider);
      if (!model || !spec || options.apiKeyOverrides?.[spec.name] !== undefined) continue;
      const usable: Deployment[] = [];
      for (const config of configs) {
        const apiKey = config.keyEnv === undefined
          ? this.#keyFor(spec)
          : options.deploymentKeys?.[config.keyEnv];
        // Left out, not sent keyless: the startup warnings say which and why.
        if (!apiKey) continue;
        const ceiling = config.rpm !== undefined || config.tpm !== undefined
          ? {
            ...(config.rpm !== undefined ? { rpm: config.rpm } : {}),
            ...(config.tpm !== undefined ? { tpm: config.tpm } : {}),
          }
          : undefined;
        const deployment: Deployment = Object.freeze({
          name: config.name,
          weight: config.weight,
          ...(ceiling ? { ceiling } : {}),
        });
        const baseUrl = config.baseUrl ?? this.#baseUrlOf(spec);
        const adapterKey = config.keyEnv === undefined && config.baseUrl === undefined
          ? spec.name
          : `${spec.name}\n${baseUrl}\n${config.keyEnv ?? ""}`;
        this.#bindings.set(deployment, { apiKey, baseUrl, adapterKey });
        usable.push(deployment);
        this.#listing.push({
          model: model.id,
          provider: spec.name,
          deployment,
          baseUrl,
          ...(config.keyEnv !== undefined ? { keyEnv: config.keyEnv } : {}),
        });
      }
      this.#deployments.set(model.id, Object.freeze(usable));
    }
  }

  /**
   * The deployments of `model` that have a key, in configured order; empty
   * when none has; undefined when the model has no deployments configured
   * (it is served by its provider, as every model is by default).
   */
  deploymentsOf(model: string): readonly Deployment[] | undefined {
    return this.#deployments.get(model);
  }

  /** Every deployment with a key, for the startup summary and metrics labels. */
  deployments(): readonly DeploymentListing[] {
    return this.#listing;
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

  /**
   * The adapter of `spec` bound to its key (call only when `hasKey(spec)`),
   * or of one of its models' `deployment`s, bound to the deployment's key
   * and endpoint. Built on first use, then kept.
   */
  adapter(spec: ProviderSpec, deployment?: Deployment): ProviderAdapter {
    const binding = deployment && this.#bindings.get(deployment);
    const cacheKey = binding?.adapterKey ?? spec.name;
    let adapter = this.#adapters.get(cacheKey);
    if (!adapter) {
      const { fetch: fetchImpl, now } = this.#options;
      adapter = this.#options.createAdapter({
        spec,
        apiKey: binding?.apiKey ?? this.#keyFor(spec)!,
        baseUrl: binding?.baseUrl ?? this.#baseUrlOf(spec),
        fetch: fetchImpl ?? ((input, init) => fetch(input, init)),
        now,
      });
      this.#adapters.set(cacheKey, adapter);
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

  #baseUrlOf(spec: ProviderSpec): string {
    return this.#options.baseUrls?.[spec.name] ?? spec.defaultBaseUrl;
  }

  #keyFor(spec: ProviderSpec): string | undefined {
    const key = this.#options.apiKeyOverrides?.[spec.name] ?? this.#options.keys[spec.name];
    if (key) return key;
    return spec.requiresKey ? undefined : "no-key-required";
  }
}
