/**
 * Accounts' gateway keys in llm_gateway_keys: made with a name, optional
 * expiry, allowed models and use cases, budget and rate limit; stored as the
 * SHA-256 of the secret, never the secret; listed by name and prefix;
 * revoked, never deleted (usage rows keep naming them).
 *
 * A presented key is looked up by its hash through the state store, cached
 * for `ttlMs` (an unknown hash too, so a client stuck on a mistyped key does
 * not reach the database on every request). Revoking deletes the cached
 * entry: where isolates share the store the key fails on the very next
 * request; an isolate with a store of its own may accept it until its entry
 * expires, `ttlMs` at most. Expiry is judged on every request, not cached.
 */
import type { Db } from "../store/db.ts";
import { jsonParam } from "../store/db.ts";
import { cached, type StateStore } from "../store/state-store.ts";
import type { GatewayKeyGrant, GatewayKeyVerdict } from "../http/callers.ts";
import {
  gatewayKeyHash,
  gatewayKeyPrefix,
  isGatewayKeyShape,
  newGatewayKeySecret,
} from "../security/gateway-key-secret.ts";
import { isUuid } from "./ids.ts";

/** What an admin asks for when making a key. */
export interface NewGatewayKey {
  name: string;
  /** Epoch ms; absent: never. */
  expiresAt?: number;
  allowedModels?: readonly string[];
  allowedUseCases?: readonly string[];
  budget?: GatewayKeyGrant["budget"];
  rateLimit?: GatewayKeyGrant["rateLimit"];
  /** The user who made it (absent: server code). */
  createdBy?: string;
}

/** A key as the API shows it: never its secret or hash. */
export interface GatewayKeyInfo {
  id: string;
  name: string;
  /** The secret's first characters (`llmk_` and 7 more), to tell keys apart. */
  prefix: string;
  status: "active" | "expired" | "revoked";
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** Within a minute or so: uses are written at most once a minute per key and isolate. */
  lastUsedAt: string | null;
  allowedModels: string[] | null;
  allowedUseCases: string[] | null;
  budget: GatewayKeyGrant["budget"] | null;
  rateLimit: GatewayKeyGrant["rateLimit"] | null;
}

/** The columns read back, times aside. */
interface KeyColumns {
  id: string;
  account_id: string;
  name: string;
  prefix: string;
  allowed_models: string[] | null;
  allowed_use_cases: string[] | null;
  daily_limit_usd: string | number | null;
  monthly_limit_usd: string | number | null;
  alert_threshold: string | number;
  time_zone: string;
  requests_per_second: string | number | null;
  burst: number | null;
}

interface KeyRow extends KeyColumns, Record<string, unknown> {
  created_at: Date | string;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
}

/** A row as cached: times as ISO text, so it survives the store's JSON round trip. */
interface CachedRow extends KeyColumns {
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const COLUMNS = `id, account_id, name, prefix, allowed_models, allowed_use_cases, daily_limit_usd,
  monthly_limit_usd, alert_threshold, time_zone, requests_per_second, burst, created_at, expires_at,
  revoked_at, last_used_at`;

/** Once a key's use was written, more uses within this long are not (per isolate). */
const USE_WRITE_INTERVAL_MS = 60_000;
/** Keys whose last write this isolate remembers; beyond it the memory starts over. */
const MAX_REMEMBERED_USES = 10_000;

/** A JSON text array parameter (the SQL unpacks it into `text[]`), or null. */
const textArray = (values: readonly string[] | undefined) =>
  values === undefined ? null : jsonParam(values);
const iso = (value: Date | string | null) => value === null ? null : new Date(value).toISOString();
const numberOrNull = (value: string | number | null) => value === null ? null : Number(value);

/** Makes, lists, revokes and verifies gateway keys. */
export class GatewayKeyRepository {
  readonly #usesWritten = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly store: StateStore,
    private readonly ttlMs: number,
  ) {}

  /** Makes a key for `accountId`; the secret is in the answer and nowhere else, ever. */
  async create(
    accountId: string,
    key: NewGatewayKey,
    now: number,
  ): Promise<{ key: GatewayKeyInfo; secret: string }> {
    const secret = newGatewayKeySecret();
    const rows = await this.db.query<KeyRow>(
      `insert into llm_gateway_keys (account_id, name, prefix, key_hash, expires_at, allowed_models,
         allowed_use_cases, daily_limit_usd, monthly_limit_usd, alert_threshold, time_zone,
         requests_per_second, burst, created_by)
       values ($1, $2, $3, $4, $5::timestamptz,
         case when $6::text is null then null else array(select jsonb_array_elements_text($6::text::jsonb)) end,
         case when $7::text is null then null else array(select jsonb_array_elements_text($7::text::jsonb)) end,
         $8, $9, $10, $11, $12, $13, $14)
       returning ${COLUMNS}`,
      [
        accountId,
        key.name,
        gatewayKeyPrefix(secret),
        await gatewayKeyHash(secret),
        key.expiresAt === undefined ? null : new Date(key.expiresAt).toISOString(),
        textArray(key.allowedModels),
        textArray(key.allowedUseCases),
        key.budget?.dailyLimitUsd ?? null,
        key.budget?.monthlyLimitUsd ?? null,
        key.budget?.alertThreshold ?? 0.8,
        key.budget?.timeZone ?? "UTC",
        key.rateLimit?.requestsPerSecond ?? null,
        key.rateLimit?.burst ?? null,
        isUuid(key.createdBy) ? key.createdBy : null,
      ],
    );
    return { key: infoOf(cachedRow(rows[0]), now), secret };
  }

  /** The account's keys, newest first, revoked and expired ones included. */
  async list(accountId: string, now: number): Promise<GatewayKeyInfo[]> {
    const rows = await this.db.query<KeyRow>(
      `select ${COLUMNS} from llm_gateway_keys where account_id = $1 order by created_at desc, id`,
      [accountId],
    );
    return rows.map((row) => infoOf(cachedRow(row), now));
  }

  /**
   * Revokes the account's key `id` (again is no error); undefined when the
   * account has no such key. Its cached lookup goes at once.
   */
  async revoke(accountId: string, id: string, now: number): Promise<GatewayKeyInfo | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.db.query<KeyRow & { key_hash: string }>(
      `update llm_gateway_keys set revoked_at = coalesce(revoked_at, now())
        where id = $1 and account_id = $2
        returning ${COLUMNS}, key_hash`,
      [id, accountId],
    );
    if (!rows[0]) return undefined;
    await this.store.delete(cacheKey(rows[0].key_hash));
    return infoOf(cachedRow(rows[0]), now);
  }

  /** Finds the key `secret` names and judges it at `now`: its grant, or why it is refused. */
  async verify(secret: string, now: number): Promise<GatewayKeyVerdict> {
    if (!isGatewayKeyShape(secret)) return { refused: "unknown" };
    const hash = await gatewayKeyHash(secret);
    const row = await cached(this.store, cacheKey(hash), this.ttlMs, async () => {
      const rows = await this.db.query<KeyRow>(
        `select ${COLUMNS} from llm_gateway_keys where key_hash = $1`,
        [hash],
      );
      return rows[0] ? cachedRow(rows[0]) : null;
    });
    if (!row) return { refused: "unknown" };
    const status = statusOf(row, now);
    return status === "active" ? { grant: grantOf(row) } : { refused: status };
  }

  /**
   * Records that key `id` was used at `now`, at most once a minute per key in
   * this isolate; undefined when there is nothing to write. The caller keeps
   * the write off the hot path.
   */
  noteUse(id: string, now: number): Promise<void> | undefined {
    const last = this.#usesWritten.get(id);
    if (last !== undefined && now - last < USE_WRITE_INTERVAL_MS) return undefined;
    if (this.#usesWritten.size >= MAX_REMEMBERED_USES) this.#usesWritten.clear();
    this.#usesWritten.set(id, now);
    return this.db.query(
      "update llm_gateway_keys set last_used_at = $2::timestamptz where id = $1",
      [id, new Date(now).toISOString()],
    ).then(() => {});
  }
}

function cacheKey(hash: string): string {
  return `gwkey:${hash}`;
}

function cachedRow(row: KeyRow): CachedRow {
  return {
    ...row,
    created_at: iso(row.created_at)!,
    expires_at: iso(row.expires_at),
    revoked_at: iso(row.revoked_at),
    last_used_at: iso(row.last_used_at),
  };
}

function statusOf(row: CachedRow, now: number): GatewayKeyInfo["status"] {
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now) return "expired";
  return "active";
}

function budgetOf(row: CachedRow): GatewayKeyGrant["budget"] {
  const daily = numberOrNull(row.daily_limit_usd);
  const monthly = numberOrNull(row.monthly_limit_usd);
  if (daily === null && monthly === null) return undefined;
  return {
    dailyLimitUsd: daily,
    monthlyLimitUsd: monthly,
    alertThreshold: Number(row.alert_threshold),
    timeZone: row.time_zone,
  };
}

function rateLimitOf(row: CachedRow): GatewayKeyGrant["rateLimit"] {
  if (row.requests_per_second === null || row.burst === null) return undefined;
  return { requestsPerSecond: Number(row.requests_per_second), burst: row.burst };
}

function grantOf(row: CachedRow): GatewayKeyGrant {
  const budget = budgetOf(row);
  const rateLimit = rateLimitOf(row);
  return {
    id: row.id,
    accountId: row.account_id,
    ...(row.allowed_models ? { allowedModels: row.allowed_models } : {}),
    ...(row.allowed_use_cases ? { allowedUseCases: row.allowed_use_cases } : {}),
    ...(budget ? { budget } : {}),
    ...(rateLimit ? { rateLimit } : {}),
  };
}

function infoOf(row: CachedRow, now: number): GatewayKeyInfo {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    status: statusOf(row, now),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    allowedModels: row.allowed_models,
    allowedUseCases: row.allowed_use_cases,
    budget: budgetOf(row) ?? null,
    rateLimit: rateLimitOf(row) ?? null,
  };
}
