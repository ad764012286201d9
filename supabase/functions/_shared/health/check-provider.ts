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
  router: Pick<LLMRouter, "probe" | "catalog" | "deployments">;
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
  const deployments = deps.router.deployments();
  const circuits = await Promise.all(models.map(async (m) => ({
    model: m.id,
    state: await modelCircuit(
      deps,
      provider,
      m.id,
      deployments.filter((d) => d.model === m.id).map((d) => d.deployment.name),
    ),
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

/**
 * A model's circuit as routing sees it. A model served by several
 * deployments has one circuit per deployment and is out (OPEN) only when
 * all of them are; while some are out it reads HALF_OPEN (degraded, still
 * served).
 */
async function modelCircuit(
  deps: ProviderCheckDeps,
  provider: string,
  model: string,
  deployments: readonly string[],
): Promise<CircuitState> {
  if (deployments.length === 0) {
    return await deps.circuits.state(platformCircuitKey(provider, model), deps.now());
  }
  const states = await Promise.all(
    deployments.map((name) =>
      deps.circuits.state(platformCircuitKey(provider, model, name), deps.now())
    ),
  );
  if (states.every((state) => state === "OPEN")) return "OPEN";
  return states.every((state) => state === "CLOSED") ? "CLOSED" : "HALF_OPEN";
}
