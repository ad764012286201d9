/**
 * Readiness: can this deployment serve, as far as its own dependencies go?
 * One `select 1` on the database (when there is one) and one read round trip
 * to the store (when it is Upstash or Postgres; memory cannot fail), each bounded, so a
 * hung dependency makes the answer "not ready" instead of making it late.
 */
import type { Db } from "../store/db.ts";
import type { StateStore } from "../store/state-store.ts";
import { healthErrorText } from "./error-text.ts";
import { withTimeout } from "./with-timeout.ts";

/** One dependency's check. */
export interface DependencyCheck {
  ok: boolean;
  latencyMs: number;
  /** Sanitized; only when not ok. */
  error?: string;
}

/** What `/ready` reports. */
export interface Readiness {
  ready: boolean;
  checks: {
    /** `{configured: false}` when the deployment has no database. */
    database: DependencyCheck | { configured: false };
    store: DependencyCheck & { kind: StateStore["kind"] };
  };
  /** Names of the checks that failed. */
  failed: string[];
}

/** What readiness looks at. */
export interface ReadinessDeps {
  db?: Db;
  store: StateStore;
  /** The longest each check may take. */
  timeoutMs: number;
}

/** Checks the database and the store, in parallel. */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const [database, store] = await Promise.all([
    deps.db ? timed(() => deps.db!.query("select 1"), deps.timeoutMs, "database") : undefined,
    deps.store.kind !== "memory"
      // A key nobody writes, new each time, so no near cache can answer for Redis.
      ? timed(
        () => deps.store.get(`health:ready:${crypto.randomUUID()}`),
        deps.timeoutMs,
        "store",
      )
      : { ok: true, latencyMs: 0 },
  ]);
  const failed = [
    ...(database && !database.ok ? ["database"] : []),
    ...(!store.ok ? ["store"] : []),
  ];
  return {
    ready: failed.length === 0,
    checks: {
      database: database ?? { configured: false },
      store: { kind: deps.store.kind, ...store },
    },
    failed,
  };
}

async function timed(
  work: () => Promise<unknown>,
  timeoutMs: number,
  what: string,
): Promise<DependencyCheck> {
  const started = performance.now();
  try {
    await withTimeout(work, timeoutMs, what);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: healthErrorText(error),
    };
  }
}
