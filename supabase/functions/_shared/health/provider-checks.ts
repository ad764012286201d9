/**
 * Provider health for every isolate at once: results live in the StateStore,
 * are reused while fresher than the cache time, and a stale or forced check
 * runs once across isolates (the others wait and read its results). If the
 * store fails, this isolate checks on its own and keeps its last results in
 * memory, so health still tells the truth and still does not ping per request.
 */
import type { Logger } from "../runtime/log.ts";
import type { CircuitBreakerStore } from "../llm/resilience.ts";
import type { LLMRouter } from "../llm/router.ts";
import type { StateStore } from "../store/state-store.ts";
import { checkProvider } from "./check-provider.ts";
import {
  type HealthStats,
  healthStats,
  providerHealthKey,
  type ProviderHealthRecord,
  type ProviderHealthReport,
  reportOf,
} from "./provider-health.ts";
import type { HealthSettings } from "./settings.ts";
import { runExclusive, waitForRelease } from "./store-lock.ts";

/** The store key whose holder runs the checks. */
export const CHECK_LOCK_KEY = "health:check-lock";

/** Time on top of the ping timeout for circuit reads and writing results. */
const LOCK_MARGIN_MS = 5_000;

/** What the checks are built from. */
export interface ProviderChecksOptions {
  store: StateStore;
  router: Pick<LLMRouter, "providers" | "probe" | "catalog" | "deployments">;
  /** The router's circuits over the same store; only read. */
  circuits: Pick<CircuitBreakerStore, "state">;
  settings: HealthSettings;
  now: () => number;
  log: Logger;
  /** Hears every store failure (the checks carry on without the store). */
  onStoreError: (error: unknown) => void;
}

/**
 * Every configured provider's health, as llm-health answers it at its root:
 * the seed's contract (`healthy`, `providers`, `stats`, `timestamp`) plus
 * `status`, which tells degraded from down.
 */
export interface ProviderHealthSummary {
  /** True when every configured provider is healthy (and there is one). */
  healthy: boolean;
  /** `healthy` as above, `degraded` when some are, `unhealthy` when none are. */
  status: "healthy" | "degraded" | "unhealthy";
  providers: ProviderHealthReport[];
  stats: HealthStats;
  /** ISO time of this answer (each provider's `lastCheck` says how old its result is). */
  timestamp: string;
}

type Records = Map<string, ProviderHealthRecord>;

/** Provider checks shared through the store. One per isolate. */
export class ProviderHealthChecks {
  readonly #options: ProviderChecksOptions;
  /** Last results seen, for when the store cannot be read. */
  readonly #lastKnown: Records = new Map();
  /** This isolate's check in progress: concurrent requests share it. */
  #running?: Promise<Records>;

  constructor(options: ProviderChecksOptions) {
    this.#options = options;
  }

  /** Providers with a key, or that need none. */
  configured(): string[] {
    return this.#options.router.providers().filter((p) => p.hasKey).map((p) => p.spec.name);
  }

  /**
   * The stored results; checks first when one is missing or stale, or when
   * `refresh` and the last check is older than the minimum refresh interval
   * (`force`, for the authenticated scheduler, skips that interval).
   */
  async summary(refresh = false, force = false): Promise<ProviderHealthSummary> {
    const names = this.configured();
    let records = await this.#read(names);
    const refreshable = force ||
      (refresh &&
        names.some((name) =>
          this.#olderThan(records.get(name), this.#options.settings.minRefreshMs)
        ));
    if (refreshable || names.some((name) => !this.#fresh(records.get(name)))) {
      records = await this.#check(names);
    }
    const providers = names.map((name) => reportOf(name, records.get(name)));
    const stats = healthStats(providers);
    const status = stats.total > 0 && stats.unhealthy === 0
      ? "healthy"
      : stats.healthy > 0
      ? "degraded"
      : "unhealthy";
    return {
      healthy: status === "healthy",
      status,
      providers,
      stats,
      timestamp: new Date(this.#options.now()).toISOString(),
    };
  }

  #olderThan(record: ProviderHealthRecord | undefined, ms: number): boolean {
    return record === undefined || this.#options.now() - Date.parse(record.checkedAt) >= ms;
  }

  #fresh(record: ProviderHealthRecord | undefined): boolean {
    return record !== undefined &&
      this.#options.now() - Date.parse(record.checkedAt) < this.#options.settings.cacheMs;
  }

  #check(names: string[]): Promise<Records> {
    this.#running ??= this.#checkOnce(names).finally(() => this.#running = undefined);
    return this.#running;
  }

  async #checkOnce(names: string[]): Promise<Records> {
    const { store, settings } = this.#options;
    const lockMs = settings.timeoutMs + LOCK_MARGIN_MS;
    let outcome;
    try {
      outcome = await runExclusive(store, CHECK_LOCK_KEY, lockMs, () => this.#runChecks(names));
    } catch (error) {
      this.#storeFailed(error);
      return await this.#runChecks(names);
    }
    if (outcome.ran) return outcome.value;
    // Another isolate is pinging: its results are ours once it lets go.
    try {
      await waitForRelease(store, CHECK_LOCK_KEY, lockMs);
    } catch (error) {
      this.#storeFailed(error);
    }
    return await this.#read(names);
  }

  async #runChecks(names: string[]): Promise<Records> {
    const { store, router, circuits, now, settings, log } = this.#options;
    const records: Records = new Map();
    await Promise.all(names.map(async (name) => {
      const record = await checkProvider(name, {
        router,
        circuits,
        now,
        timeoutMs: settings.timeoutMs,
      });
      records.set(name, record);
      this.#lastKnown.set(name, record);
      log[record.healthy ? "info" : "warn"]("provider_checked", {
        provider: name,
        healthy: record.healthy,
        latencyMs: record.latencyMs,
        model: record.model,
        circuit: record.circuit,
        error: record.error,
      });
      // Kept past its freshness, so a reader waiting on the lock still finds it.
      const ttlMs = Math.max(settings.cacheMs * 2, 600_000);
      await store.set(providerHealthKey(name), record, ttlMs).catch((error) =>
        this.#storeFailed(error)
      );
    }));
    return records;
  }

  async #read(names: string[]): Promise<Records> {
    try {
      const values = await Promise.all(
        names.map((name) => this.#options.store.get<ProviderHealthRecord>(providerHealthKey(name))),
      );
      const records: Records = new Map();
      names.forEach((name, i) => {
        const record = values[i];
        if (record) {
          records.set(name, record);
          this.#lastKnown.set(name, record);
        }
      });
      return records;
    } catch (error) {
      this.#storeFailed(error);
      return new Map(this.#lastKnown);
    }
  }

  #storeFailed(error: unknown): void {
    this.#options.onStoreError(error);
  }
}
