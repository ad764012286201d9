/**
 * The StateStore a deployment configured, chosen by LLM_STATE_STORE:
 *   - `auto` (the default): Upstash Redis when UPSTASH_REDIS_REST_URL and
 *     UPSTASH_REDIS_REST_TOKEN are set, else the project's Postgres when
 *     SUPABASE_DB_URL is, else this isolate's memory;
 *   - `memory`, `upstash`, `postgres`: that backend; one that is not
 *     configured falls back to memory with a warning.
 * Upstash and Postgres share state across every isolate; memory does not.
 */
import { type EnvReader, intSetting } from "../runtime/env.ts";
import type { SqlRunner } from "./db.ts";
import { PostgresStateStore } from "./postgres-store.ts";
import { MemoryStateStore, type StateStore } from "./state-store.ts";

/** A backend's name, as `StateStore.kind` reports it. */
export type StateStoreKind = StateStore["kind"];

const CHOICES = new Set(["auto", "memory", "upstash", "postgres"]);

/**
 * The backend env chooses, given whether the function has a database to put
 * state in. Pure, so the dev server can tell whether its functions would each
 * keep their own memory (and hand them one to share instead).
 */
export function stateStoreKind(
  env: EnvReader,
  hasDatabase: boolean,
  warnings: string[],
): StateStoreKind {
  let asked = env("LLM_STATE_STORE")?.trim().toLowerCase() || "auto";
  if (!CHOICES.has(asked)) {
    warnings.push("LLM_STATE_STORE must be auto, memory, upstash or postgres; using auto");
    asked = "auto";
  }
  if (asked === "memory") return "memory";
  if (asked === "postgres") {
    if (hasDatabase) return "postgres";
    warnings.push("LLM_STATE_STORE=postgres needs a database (SUPABASE_DB_URL); using memory");
    return "memory";
  }
  const upstash = upstashConfigured(env, warnings);
  if (asked === "upstash") {
    if (upstash) return "upstash";
    warnings.push(
      "LLM_STATE_STORE=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN; using memory",
    );
    return "memory";
  }
  if (upstash) return "upstash";
  // An injected database (the dev server's PGlite, a test's) is not shared: only a configured one counts.
  return hasDatabase && env("SUPABASE_DB_URL") ? "postgres" : "memory";
}

/**
 * Builds the store from env, in `db` when it is Postgres; the Upstash client
 * is imported only when it is used.
 */
export async function stateStoreFromEnv(
  env: EnvReader,
  now: () => number,
  warnings: string[],
  db?: SqlRunner,
): Promise<StateStore> {
  const kind = stateStoreKind(env, db !== undefined, warnings);
  if (kind === "memory") return new MemoryStateStore(now);
  // Configuration read on every request (preferences, guard settings) is reused this long.
  const nearCacheMs = intSetting(
    env,
    env("LLM_STATE_NEAR_CACHE_MS") !== undefined
      ? "LLM_STATE_NEAR_CACHE_MS"
      : "LLM_REDIS_NEAR_CACHE_MS",
    2_000,
    { min: 0, max: 60_000 },
    warnings,
  );
  if (kind === "postgres") return new PostgresStateStore(db!, { nearCacheMs });
  const { UpstashStateStore } = await import("./upstash-store.ts");
  return new UpstashStateStore({
    url: env("UPSTASH_REDIS_REST_URL")!,
    token: env("UPSTASH_REDIS_REST_TOKEN")!,
    prefix: env("LLM_REDIS_PREFIX") ?? "llm:",
    nearCacheMs,
  });
}

/** Whether both Upstash settings are there and the URL is one; warns about half a configuration. */
function upstashConfigured(env: EnvReader, warnings: string[]): boolean {
  const url = env("UPSTASH_REDIS_REST_URL");
  const token = env("UPSTASH_REDIS_REST_TOKEN");
  if (!url && !token) return false;
  if (!url || !token) {
    warnings.push(
      "set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to share state across isolates in Redis; not using Upstash",
    );
    return false;
  }
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    warnings.push("UPSTASH_REDIS_REST_URL is not an http(s) URL; not using Upstash");
    return false;
  }
  return true;
}
