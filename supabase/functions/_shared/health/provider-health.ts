/**
 * What a provider check leaves in the StateStore, and what llm-health shows
 * of it. Results live in the store (not in an isolate's memory) so every
 * isolate reports the same answer and one check serves them all.
 */
import type { CircuitState } from "../llm/resilience.ts";

/** A check's result, stored at `health:provider:<name>`. */
export interface ProviderHealthRecord {
  healthy: boolean;
  /** How long the ping took (until it failed, for a failure); null when no ping ran. */
  latencyMs: number | null;
  /** The model pinged, or the model whose open circuit stopped the ping. */
  model: string | null;
  /** ISO time of the check. */
  checkedAt: string;
  /** Sanitized, at most 300 characters; null when healthy. */
  error: string | null;
  /** The worst circuit among the provider's catalog models when it was checked. */
  circuit: CircuitState;
}

/**
 * One provider as llm-health reports it: the seed's contract (`provider`,
 * `healthy`, `latency`, `lastCheck`, `error`), plus the model checked and its
 * circuit, which say why a provider is down.
 */
export interface ProviderHealthReport {
  provider: string;
  healthy: boolean;
  /** Ms the ping took; null when no ping ran (an open circuit, or none finished yet). */
  latency: number | null;
  /** ISO time of the check this comes from; null when none finished yet. */
  lastCheck: string | null;
  /** Sanitized; null when healthy. */
  error: string | null;
  model: string | null;
  circuit: CircuitState;
}

/** Counts over every configured provider. */
export interface HealthStats {
  total: number;
  healthy: number;
  unhealthy: number;
  /** 0–100, one decimal; 0 when no provider is configured. */
  healthPercentage: number;
}

/** The store key of `provider`'s latest check. */
export function providerHealthKey(provider: string): string {
  return `health:provider:${provider}`;
}

/** The report line for `name` from its stored record (or a placeholder while none exists). */
export function reportOf(
  name: string,
  record: ProviderHealthRecord | undefined,
): ProviderHealthReport {
  if (!record) {
    return {
      provider: name,
      healthy: false,
      latency: null,
      lastCheck: null,
      error: "not checked yet",
      model: null,
      circuit: "CLOSED",
    };
  }
  return {
    provider: name,
    healthy: record.healthy,
    latency: record.latencyMs,
    lastCheck: record.checkedAt,
    error: record.error,
    model: record.model,
    circuit: record.circuit,
  };
}

/** Totals of `reports`. */
export function healthStats(reports: readonly ProviderHealthReport[]): HealthStats {
  const healthy = reports.filter((r) => r.healthy).length;
  const total = reports.length;
  return {
    total,
    healthy,
    unhealthy: total - healthy,
    healthPercentage: total === 0 ? 0 : Math.round((healthy / total) * 1_000) / 10,
  };
}
