/**
 * Circuit breakers kept in the StateStore, so every isolate sees a
 * provider's circuit open (and close) together. Each read or transition is
 * one atomic operation: the Lua below is `nextCircuit` (resilience.ts) for
 * Redis, and the memory form runs `nextCircuit` itself. An operator's reset
 * is one more: it closes the circuit whatever it was.
 */
import {
  type BreakerPolicy,
  type CircuitBreakerStore,
  type CircuitRecord,
  type CircuitState,
  nextCircuit,
} from "../llm/resilience.ts";
import {
  type AtomicOperation,
  type AtomicReply,
  fieldNumber,
  replyNumber,
} from "../store/atomic.ts";
import type { StateStore } from "../store/state-store.ts";

const STATES: CircuitState[] = ["CLOSED", "OPEN", "HALF_OPEN"];

/** A circuit as the operation reports it. */
export interface CircuitReading {
  state: CircuitState;
  /** Consecutive failures while closed. */
  failures: number;
}

/** A step's reading; `from` is present only when the step changed the state. */
export interface CircuitStepReading extends CircuitReading {
  /** The state before the step (an expired OPEN counts as HALF_OPEN). */
  from?: CircuitState;
}

/** A change of a circuit's state, seen by the one caller whose step made it. */
export interface CircuitTransition {
  /** The circuit's key (circuit-key.ts). */
  key: string;
  from: CircuitState;
  to: CircuitState;
  /** When (epoch ms). */
  at: number;
  /** An operator's reset rather than traffic. */
  reset: boolean;
}

// Reads never write: an expired OPEN reads as HALF_OPEN, derived from the time.
const LUA = `
local event = ARGV[1]
local now = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local openMs = tonumber(ARGV[4])
local needed = tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'state', 'failures', 'successes', 'openedAt')
local state = s[1] or 'CLOSED'
local failures = tonumber(s[2]) or 0
local successes = tonumber(s[3]) or 0
local openedAt = tonumber(s[4]) or 0
if state == 'OPEN' and now - openedAt >= openMs then
  state = 'HALF_OPEN'
  failures = 0
  successes = 0
end
local before = state
if event == 'success' then
  if state == 'HALF_OPEN' then
    successes = successes + 1
    if successes >= needed then
      state = 'CLOSED'
      failures = 0
      successes = 0
      openedAt = 0
    end
  elseif state == 'CLOSED' then
    failures = 0
  end
elseif event == 'failure' then
  if state == 'HALF_OPEN' then
    state = 'OPEN'
    failures = 0
    successes = 0
    openedAt = now
  elseif state == 'CLOSED' then
    failures = failures + 1
    if failures >= threshold then
      state = 'OPEN'
      failures = 0
      successes = 0
      openedAt = now
    end
  end
end
if event ~= 'read' then
  if state == 'CLOSED' and failures == 0 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'state', state, 'failures', failures, 'successes', successes, 'openedAt', openedAt)
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]))
  end
end
local code = 0
if state == 'OPEN' then code = 1 elseif state == 'HALF_OPEN' then code = 2 end
local beforeCode = 0
if before == 'OPEN' then beforeCode = 1 elseif before == 'HALF_OPEN' then beforeCode = 2 end
return {code, failures, beforeCode}
`;

/**
 * The breaker step; ARGV = event (read|success|failure), now, threshold, open ms, half-open successes, ttl.
 * Replies {state, failures, state before}: the state before is what lets exactly one
 * caller (the one whose step made the change) report a transition.
 */
export const CIRCUIT_STEP: AtomicOperation<CircuitStepReading> = {
  name: "circuit_step",
  lua: LUA,
  sql: "llm_state_op_circuit_step",
  apply(fields, args) {
    const [event, now, threshold, openMs, needed] = [
      args[0] as "read" | "success" | "failure",
      ...args.slice(1, 5).map(Number),
    ] as const;
    const record: CircuitRecord | undefined = fields
      ? {
        state: (fields.state as CircuitState | undefined) ?? "CLOSED",
        failures: fieldNumber(fields, "failures", 0),
        successes: fieldNumber(fields, "successes", 0),
        openedAt: fieldNumber(fields, "openedAt", 0),
      }
      : undefined;
    const policy = { failureThreshold: threshold, openMs, halfOpenSuccesses: needed };
    const before = nextCircuit(record, "read", now, policy);
    const after = nextCircuit(record, event, now, policy);
    const reply = [STATES.indexOf(after.state), after.failures, STATES.indexOf(before.state)];
    if (event === "read") return { reply };
    if (after.state === "CLOSED" && after.failures === 0) return { fields: null, reply };
    return {
      fields: {
        state: after.state,
        failures: String(after.failures),
        successes: String(after.successes),
        openedAt: String(after.openedAt),
      },
      ttlMs: Number(args[5]),
      reply,
    };
  },
  decode(reply) {
    const reading = decodeReading(reply);
    const from = STATES[replyNumber(reply, 2)] ?? "CLOSED";
    return from === reading.state ? reading : { ...reading, from };
  },
};

function decodeReading(reply: AtomicReply): CircuitReading {
  return { state: STATES[replyNumber(reply, 0)] ?? "CLOSED", failures: replyNumber(reply, 1) };
}

// The read's derivation (an expired OPEN is HALF_OPEN), then the key goes: CLOSED, no failures.
const RESET_LUA = `
local now = tonumber(ARGV[1])
local openMs = tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'state', 'failures', 'openedAt')
local state = s[1] or 'CLOSED'
local failures = tonumber(s[2]) or 0
local openedAt = tonumber(s[3]) or 0
if state == 'OPEN' and now - openedAt >= openMs then
  state = 'HALF_OPEN'
  failures = 0
end
redis.call('DEL', KEYS[1])
local code = 0
if state == 'OPEN' then code = 1 elseif state == 'HALF_OPEN' then code = 2 end
return {code, failures}
`;

/** Closes a circuit; ARGV = now, open ms. Replies the circuit as it was (read as `circuit_step` reads it). */
export const CIRCUIT_RESET: AtomicOperation<CircuitReading> = {
  name: "circuit_reset",
  lua: RESET_LUA,
  sql: "llm_state_op_circuit_reset",
  apply(fields, args) {
    const [now, openMs] = args.map(Number);
    const before = fields
      ? nextCircuit(
        {
          state: (fields.state as CircuitState | undefined) ?? "CLOSED",
          failures: fieldNumber(fields, "failures", 0),
          successes: fieldNumber(fields, "successes", 0),
          openedAt: fieldNumber(fields, "openedAt", 0),
        },
        "read",
        now,
        { failureThreshold: 1, openMs, halfOpenSuccesses: 1 },
      )
      : { state: "CLOSED" as const, failures: 0 };
    return { fields: null, reply: [STATES.indexOf(before.state), before.failures] };
  },
  decode: decodeReading,
};

/** CircuitBreakerStore over a StateStore. */
export class StoreCircuitBreakers implements CircuitBreakerStore {
  /** Keys whose last reading here was closed with no failures: a success there changes nothing. */
  readonly #quiet = new Set<string>();
  readonly #ttlMs: number;

  /**
   * A store that fails must not stop traffic: a circuit that cannot be read
   * counts as closed, a transition that cannot be written is skipped, and
   * `onStoreError` hears about it. `onTransition` hears of every state change
   * this breaker's steps (or resets) made: once per change across every
   * isolate sharing the store, since only the step that made it sees it.
   */
  constructor(
    private readonly store: StateStore,
    readonly policy: BreakerPolicy,
    private readonly onStoreError: (error: unknown) => void = () => {},
    private readonly onTransition: (transition: CircuitTransition) => void = () => {},
  ) {
    // Failure counts of a circuit nobody touches fade; an open one outlives its open time.
    this.#ttlMs = Math.max(policy.openMs * 4, 600_000);
  }

  async state(key: string, now: number): Promise<CircuitState> {
    const reading = await this.#step(key, "read", now);
    if (reading.state === "CLOSED" && reading.failures === 0) {
      // A hint per circuit key; bounded so that many tenants' scopes cannot grow it forever.
      if (this.#quiet.size >= 10_000) this.#quiet.clear();
      this.#quiet.add(key);
    } else {
      this.#quiet.delete(key);
    }
    return reading.state;
  }

  async recordSuccess(key: string, now: number): Promise<CircuitState> {
    // The common case (healthy provider) costs no write: there is nothing to reset.
    if (this.#quiet.has(key)) return "CLOSED";
    return (await this.#step(key, "success", now)).state;
  }

  async recordFailure(key: string, now: number): Promise<CircuitState> {
    this.#quiet.delete(key);
    return (await this.#step(key, "failure", now)).state;
  }

  /**
   * Closes the circuit at `key` (an operator's lever) and returns how it was.
   * Unlike the router's steps this throws when the store fails: a reset that
   * did not happen must not be reported as done.
   */
  async reset(key: string, now: number): Promise<CircuitReading> {
    const before = await this.store.run(CIRCUIT_RESET, `circuit:${key}`, [
      now,
      this.policy.openMs,
    ]);
    this.#quiet.add(key);
    if (before.state !== "CLOSED") {
      this.onTransition({ key, from: before.state, to: "CLOSED", at: now, reset: true });
    }
    return before;
  }

  async #step(
    key: string,
    event: "read" | "success" | "failure",
    now: number,
  ): Promise<CircuitReading> {
    const { failureThreshold, openMs, halfOpenSuccesses } = this.policy;
    let reading: CircuitStepReading;
    try {
      reading = await this.store.run(CIRCUIT_STEP, `circuit:${key}`, [
        event,
        now,
        failureThreshold,
        openMs,
        halfOpenSuccesses,
        this.#ttlMs,
      ]);
    } catch (error) {
      this.onStoreError(error);
      return { state: "CLOSED", failures: 1 };
    }
    if (reading.from !== undefined) {
      this.onTransition({ key, from: reading.from, to: reading.state, at: now, reset: false });
    }
    return reading;
  }
}
