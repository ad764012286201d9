/**
 * Checking one provider: first its circuits (an open one means the router
 * already sends it nothing, so it is unhealthy without spending a ping), then
 * one bounded ping through `LLMRouter.probe`.
 */
import { LLMError } from "../llm/errors.ts";
import type { CircuitBreakerStore, CircuitState } from "../llm/resilience.ts";
import type { LLMRouter } from "../llm/router.ts";
import { healthErrorText } from "./error-text.ts";
import type { ProviderHealthRecord } from "./provider-health.ts";
import { withTimeout } from "./with-timeout.ts";
// Health looks at the platform's circuits, not a tenant's.
import { platformCircuitKey } from "../llm/circuit-key.ts";

/** What checking a provider needs. */
export interface ProviderCheckDeps {
  router: Pick<LLMRouter, "probe" | "catalog">;
  /** Circuits as the router keeps them; only read, never written. */
  circuits: Pick<CircuitBreakerStore, "state">;
  now: () => number;
  /** The longest the ping may take. */
  timeoutMs: number;
}

/**
 * Checks `provider`. Its circuit is the worst among all its catalog models
 * (chat and embeddings): any OPEN one reports the provider unhealthy without
 * a ping, naming that model, since routing already avoids it.
 */
export async function checkProvider(
  provider: string,
  deps: ProviderCheckDeps,
): Promise<ProviderHealthRecord> {
  const checkedAt = new Date(deps.now()).toISOString();
  const models = deps.router.catalog.all().filter((m) => m.provider === provider);
  const circuits = await Promise.all(models.map(async (m) => ({
    model: m.id,
    state: await deps.circuits.state(platformCircuitKey(provider, m.id), deps.now()),
  })));
  const open = circuits.find((c) => c.state === "OPEN");
  if (open) {
    return {
      healthy: false,
      latencyMs: null,
      model: open.model,
      checkedAt,
      error: `circuit open for ${open.model}: the router sends it no traffic until it cools down`,
      circuit: "OPEN",
    };
  }
  const circuit: CircuitState = circuits.some((c) => c.state === "HALF_OPEN")
    ? "HALF_OPEN"
    : "CLOSED";
  const started = performance.now();
  try {
    const { model, latencyMs } = await withTimeout(
      (signal) => deps.router.probe(provider, signal),
      deps.timeoutMs,
      `${provider} ping`,
    );
    return { healthy: true, latencyMs, model, checkedAt, error: null, circuit };
  } catch (error) {
    return {
      healthy: false,
      latencyMs: Math.round(performance.now() - started),
      model: error instanceof LLMError ? error.model ?? null : null,
      checkedAt,
      error: healthErrorText(error),
      circuit,
    };
  }
}
