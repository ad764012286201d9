/**
 * Resilience primitives the router composes: retry delays with exponential
 * backoff and full jitter (honouring a capped `retry-after`) and a circuit
 * breaker per provider+model whose state lives behind a store interface so
 * that all isolates can share it (memory here; a distributed store plugs in
 * without touching the router).
 */
import type { LLMError } from "./errors.ts";

/** How long and how often to retry one target. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = one attempt). */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A provider asking to wait longer than this is skipped rather than waited for. */
  maxRetryAfterMs: number;
}

/** Milliseconds to wait before retry number `retry` (1-based), or undefined to stop retrying this target. */
export function retryDelayMs(
  error: LLMError,
  retry: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (!error.retryable || retry > policy.maxRetries) return undefined;
  if (error.retryAfterMs !== undefined) {
    return error.retryAfterMs <= policy.maxRetryAfterMs ? error.retryAfterMs : undefined;
  }
  // Full jitter: spreads retries of many callers instead of synchronizing them.
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
}

/** Circuit states. */
export type CircuitState = "CLOSED" | "OPEN" | "HALF_OPEN";

/** Thresholds of the breaker. */
export interface BreakerPolicy {
  /** Consecutive failures that open a closed circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before letting probes through. */
  openMs: number;
  /** Consecutive half-open successes that close it again. */
  halfOpenSuccesses: number;
}

/** One circuit as stored. */
export interface CircuitRecord {
  state: CircuitState;
  /** Consecutive failures while closed. */
  failures: number;
  /** Consecutive successes while half-open. */
  successes: number;
  openedAt: number;
}

/**
 * Where circuits live. Each method is one atomic step of the state machine,
 * so a shared implementation can run it as a single command.
 */
export interface CircuitBreakerStore {
  /** The circuit's state at `now` (an expired OPEN reads as HALF_OPEN). */
  state(key: string, now: number): Promise<CircuitState>;
  recordSuccess(key: string, now: number): Promise<CircuitState>;
  recordFailure(key: string, now: number): Promise<CircuitState>;
}

/** The breaker's transitions as a pure function, shared by stores. */
export function nextCircuit(
  record: CircuitRecord | undefined,
  event: "read" | "success" | "failure",
  now: number,
  policy: BreakerPolicy,
): CircuitRecord {
  let current: CircuitRecord = record ??
    { state: "CLOSED", failures: 0, successes: 0, openedAt: 0 };
  if (current.state === "OPEN" && now - current.openedAt >= policy.openMs) {
    current = { state: "HALF_OPEN", failures: 0, successes: 0, openedAt: current.openedAt };
  }
  if (event === "read") return current;
  if (event === "success") {
    if (current.state === "HALF_OPEN") {
      const successes = current.successes + 1;
      return successes >= policy.halfOpenSuccesses
        ? { state: "CLOSED", failures: 0, successes: 0, openedAt: 0 }
        : { ...current, successes };
    }
    return current.state === "CLOSED" ? { ...current, failures: 0 } : current;
  }
  if (current.state === "HALF_OPEN") {
    return { state: "OPEN", failures: 0, successes: 0, openedAt: now };
  }
  if (current.state === "OPEN") return current;
  const failures = current.failures + 1;
  return failures >= policy.failureThreshold
    ? { state: "OPEN", failures: 0, successes: 0, openedAt: now }
    : { ...current, failures };
}

/** Circuits in this isolate's memory: the embedded default. */
export class MemoryCircuitBreakerStore implements CircuitBreakerStore {
  readonly #circuits = new Map<string, CircuitRecord>();

  constructor(readonly policy: BreakerPolicy) {}

  state(key: string, now: number): Promise<CircuitState> {
    return Promise.resolve(this.#step(key, "read", now));
  }

  recordSuccess(key: string, now: number): Promise<CircuitState> {
    return Promise.resolve(this.#step(key, "success", now));
  }

  recordFailure(key: string, now: number): Promise<CircuitState> {
    return Promise.resolve(this.#step(key, "failure", now));
  }

  #step(key: string, event: "read" | "success" | "failure", now: number): CircuitState {
    const before = this.#circuits.get(key);
    const after = nextCircuit(before, event, now, this.policy);
    // A closed circuit with no failures is the default: do not keep it around.
    if (after.state === "CLOSED" && after.failures === 0) this.#circuits.delete(key);
    else this.#circuits.set(key, after);
    return after.state;
  }
}
