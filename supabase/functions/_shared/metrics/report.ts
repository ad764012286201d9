/**
 * The JSON answer of llm-metrics: per provider (with its models and use
 * cases), the aggregate, circuit states, uptime; for the platform also what
 * the background queues set aside. `accountId` says whose figures these are
 * (null: the whole platform), `keyId` (when present) which of the account's
 * gateway keys.
 */
import type { CircuitState } from "../llm/resilience.ts";
import type { MetricsSnapshot } from "./snapshot.ts";
import { addCounts, summarize } from "./summary.ts";

/** A circuit as reported. */
export interface CircuitReport {
  provider: string;
  model: string;
  /** One deployment's circuit (`LLM_DEPLOYMENTS`); absent: the model's own. */
  deployment?: string;
  state: CircuitState;
}

/**
 * `{success, accountId, metrics:[{provider, …summary, models}], aggregated,
 * circuits, queues (platform only), uptime, since, timestamp}`.
 */
export function metricsReport(
  snapshot: MetricsSnapshot,
  circuits: readonly CircuitReport[],
  now: number,
) {
  const providers = [...new Set(snapshot.series.map((s) => s.labels.provider))].sort();
  const metrics = providers.map((provider) => {
    const series = snapshot.series.filter((s) => s.labels.provider === provider);
    return {
      provider,
      ...summarize(addCounts(series.map((s) => s.counts))),
      models: series.map((s) => ({
        model: s.labels.model,
        ...(s.labels.deployment !== undefined ? { deployment: s.labels.deployment } : {}),
        useCase: s.labels.useCase,
        ...summarize(s.counts),
      })),
    };
  });
  return {
    success: true,
    accountId: snapshot.accountId ?? null,
    ...(snapshot.keyId !== undefined ? { keyId: snapshot.keyId } : {}),
    metrics,
    aggregated: summarize(addCounts(snapshot.series.map((s) => s.counts))),
    circuits,
    ...(snapshot.queues ? { queues: snapshot.queues } : {}),
    uptime: uptimeSeconds(snapshot, now),
    since: snapshot.startedAt ?? null,
    timestamp: new Date(now).toISOString(),
  };
}

/** Seconds since counting started (0 before the first request). */
export function uptimeSeconds(snapshot: MetricsSnapshot, now: number): number {
  if (!snapshot.startedAt) return 0;
  return Math.max(0, Math.round((now - Date.parse(snapshot.startedAt)) / 1000));
}
