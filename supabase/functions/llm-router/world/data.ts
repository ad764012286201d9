/**
 * The database and the repositories over it: agent preferences, the
 * accounts' provider keys and gateway keys, budgets and rate limits,
 * memberships, jobs and the audit log. Without a database there are none, and the routes that
 * need them answer 503 saying how to configure one.
 */
import type { EnvReader } from "../../_shared/runtime/env.ts";
import type { Db } from "../../_shared/store/db.ts";
import { postgresDb } from "../../_shared/store/postgres-db.ts";
import type { StateStore } from "../../_shared/store/state-store.ts";
import { AuditLog } from "../../_shared/data/audit.ts";
import { GuardSettingsRepository } from "../../_shared/data/guard-settings.ts";
import { GatewayKeyRepository } from "../../_shared/data/gateway-keys.ts";
import { JobQueue } from "../../_shared/data/jobs.ts";
import { membershipsIn } from "../../_shared/data/memberships.ts";
import { PreferenceRepository } from "../../_shared/data/preferences.ts";
import { ProviderKeyRepository } from "../../_shared/data/provider-keys.ts";
import type { Memberships } from "../../_shared/http/callers.ts";

/** The longest a looked-up gateway key is reused from the store. */
export const GATEWAY_KEY_CACHE_MS = 60_000;

/** The database (SUPABASE_DB_URL), or none. */
export function databaseFromEnv(env: EnvReader, poolSize: number): Db | undefined {
  const url = env("SUPABASE_DB_URL");
  return url ? postgresDb(url, { max: poolSize }) : undefined;
}

/** The repositories; every one absent without a database. */
export interface Repositories {
  preferences?: PreferenceRepository;
  keys?: ProviderKeyRepository;
  gatewayKeys?: GatewayKeyRepository;
  guardSettings?: GuardSettingsRepository;
  memberships?: Memberships;
  jobs?: JobQueue;
  audit?: AuditLog;
}

/** The repositories over `db`, caching what they read in `store` for `cacheTtlMs`. */
export function repositoriesOver(
  db: Db | undefined,
  store: StateStore,
  cacheTtlMs: number,
): Repositories {
  if (!db) return {};
  return {
    preferences: new PreferenceRepository(db, store, cacheTtlMs),
    keys: new ProviderKeyRepository(db, store, cacheTtlMs),
    // A revoked key is dropped from a shared store at once; an isolate's own store keeps it a minute at most.
    gatewayKeys: new GatewayKeyRepository(db, store, Math.min(cacheTtlMs, GATEWAY_KEY_CACHE_MS)),
    guardSettings: new GuardSettingsRepository(db, store, cacheTtlMs),
    memberships: membershipsIn(db),
    jobs: new JobQueue(db),
    audit: new AuditLog(db),
  };
}
