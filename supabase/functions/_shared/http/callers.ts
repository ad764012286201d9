/**
 * Who is calling llm-router (and llm-metrics) and for which account: a signed-in user (account
 * and role from the JWT's app_metadata, or from llm_account_members), server
 * code with the service key, an account's gateway key (`llmk_…`, for its own
 * account only), or the database's job trigger with the job secret. Acting
 * for another account needs the service role or an owner/admin membership of
 * that account.
 */
import { callerToken, unauthorized } from "./auth.ts";
import { HttpError } from "./errors.ts";
import type { JwtClaims } from "../security/jwt-hs256.ts";
import { sameSecret } from "../security/same-secret.ts";
import { looksLikeGatewayKey } from "../security/gateway-key-secret.ts";

/** An account role, as in app_metadata.role and llm_account_members.role. */
export type AccountRole = "member" | "admin" | "owner";

/** An authenticated caller. */
export interface Caller {
  kind: "user" | "service" | "job" | "key";
  userId?: string;
  /** The account the JWT names (or the user's own id when it names none); a key's own account. */
  accountId?: string;
  /** The role the JWT gives in `accountId`. */
  role?: AccountRole;
  /** What the gateway key of a `key` caller allows (never its secret). */
  key?: GatewayKeyGrant;
}

/** What a gateway key lets its holder do, as its row says: the account and the key's own limits. */
export interface GatewayKeyGrant {
  id: string;
  accountId: string;
  /** Catalog model ids the key may use; absent: any. */
  allowedModels?: readonly string[];
  /** Use cases the key may ask for; absent: any. */
  allowedUseCases?: readonly string[];
  /** The key's own bucket, on top of its account's; absent: only the account's. */
  rateLimit?: { requestsPerSecond: number; burst: number };
  /** The key's own spending limits, on top of its account's; absent: only the account's. */
  budget?: {
    dailyLimitUsd: number | null;
    monthlyLimitUsd: number | null;
    alertThreshold: number;
    timeZone: string;
  };
}

/** What looking up a presented gateway key found. */
export type GatewayKeyVerdict =
  | { grant: GatewayKeyGrant }
  | { refused: "unknown" | "revoked" | "expired" };

/** Finds the key whose secret is `secret` and judges it now. */
export type GatewayKeyLookup = (secret: string) => Promise<GatewayKeyVerdict>;

/** Verifies a user token and returns its claims, or throws a 401 `HttpError`. */
export type TokenVerifier = (token: string) => Promise<JwtClaims>;

/** What authentication needs. */
export interface CallerCredentials {
  /** Absent when no JWT secret or JWKS is configured: then only server keys are accepted. */
  verifyToken?: TokenVerifier;
  /** Keys that authenticate server code (the service-role key, secret keys). */
  serverKeys: readonly string[];
  /** The job secret the database's trigger sends in `x-job-secret`. */
  jobSecret?: string;
  /** The function named in a 401's `WWW-Authenticate` challenge. */
  realm?: string;
  /** The accounts' gateway keys; absent (no database, or a function that takes none): `llmk_` keys are refused. */
  gatewayKeys?: GatewayKeyLookup;
}

/**
 * Whether `token` is exactly one of `serverKeys` (SUPABASE_SERVICE_ROLE_KEY,
 * LLM_SERVICE_KEYS): the one rule for a server caller in every function.
 * Nothing else makes one, not even a JWT whose role claims it.
 */
export async function isServerKey(token: string, serverKeys: readonly string[]): Promise<boolean> {
  let matched = false;
  for (const key of serverKeys) {
    // Equal lengths first: a key's length is no secret, and user tokens skip the hashing.
    if (key && token.length === key.length && await sameSecret(token, key)) matched = true;
  }
  return matched;
}

/** Resolves the caller; `allowJobSecret` only on the job endpoints. Throws a 401 `HttpError`. */
export async function authenticateCaller(
  request: Request,
  credentials: CallerCredentials,
  allowJobSecret = false,
): Promise<Caller> {
  const realm = credentials.realm ?? "functions";
  const jobSecret = allowJobSecret ? request.headers.get("x-job-secret") : null;
  if (jobSecret !== null && credentials.jobSecret) {
    if (await sameSecret(jobSecret, credentials.jobSecret)) return { kind: "job" };
    throw unauthorized("AUTH_INVALID", "The job secret is wrong", realm);
  }
  const token = callerToken(request);
  if (!token) {
    throw unauthorized(
      "AUTH_MISSING",
      "Authorization: Bearer <access token or service key> (or x-api-key) is required",
      realm,
    );
  }
  // A gateway key is never tried as a server key or a JWT: its refusal says what is wrong with it.
  if (looksLikeGatewayKey(token)) return await gatewayKeyCaller(token, credentials, realm);
  if (await isServerKey(token, credentials.serverKeys)) return { kind: "service" };
  if (!credentials.verifyToken) {
    throw unauthorized(
      "AUTH_INVALID",
      "User tokens are not accepted: no JWT secret or JWKS is configured",
      realm,
    );
  }
  const claims = await credentials.verifyToken(token);
  if (claims.role === "service_role") {
    // Signed with the JWT secret but not a configured key: such a token would
    // outlive rotating the service key, so it is no server caller.
    throw unauthorized(
      "AUTH_SERVICE_TOKEN_NOT_KEY",
      "A service_role token is accepted only when it is the configured service key (SUPABASE_SERVICE_ROLE_KEY or one of LLM_SERVICE_KEYS)",
      realm,
    );
  }
  if (claims.role !== "authenticated" || typeof claims.sub !== "string") {
    throw unauthorized(
      "AUTH_USER_REQUIRED",
      "A user's access token or the service key is required (not the anon key)",
      realm,
    );
  }
  const meta = (claims.app_metadata ?? {}) as Record<string, unknown>;
  const role: AccountRole = meta.role === "admin" || meta.role === "owner" ? meta.role : "member";
  return {
    kind: "user",
    userId: claims.sub,
    accountId: typeof meta.account_id === "string" ? meta.account_id : undefined,
    role,
  };
}

/** The caller a gateway key makes, or a 401 saying why the key is refused. */
async function gatewayKeyCaller(
  token: string,
  credentials: CallerCredentials,
  realm: string,
): Promise<Caller> {
  if (!credentials.gatewayKeys) {
    throw unauthorized(
      "AUTH_KEY_NOT_ACCEPTED",
      "Gateway keys (llmk_…) are accepted by llm-router with a database (SUPABASE_DB_URL) only",
      realm,
    );
  }
  const verdict = await credentials.gatewayKeys(token);
  if ("grant" in verdict) {
    return { kind: "key", accountId: verdict.grant.accountId, key: verdict.grant };
  }
  const [code, message] = KEY_REFUSALS[verdict.refused];
  throw unauthorized(code, message, realm);
}

const KEY_REFUSALS = {
  unknown: ["AUTH_KEY_INVALID", "The gateway key is not known"],
  revoked: ["AUTH_KEY_REVOKED", "The gateway key has been revoked"],
  expired: ["AUTH_KEY_EXPIRED", "The gateway key has expired"],
} as const;

/** The account a request acts for, and the caller's role in it. */
export interface AccountAccess {
  accountId?: string;
  role: AccountRole | "service";
}

/** A user's memberships (llm_account_members), for accounts the JWT does not name. */
export interface Memberships {
  /** The user's role in `accountId`, if a member. */
  role(userId: string, accountId: string): Promise<AccountRole | undefined>;
  /** Every account the user belongs to. */
  accounts(userId: string): Promise<{ accountId: string; role: AccountRole }[]>;
}

/**
 * The account to act for: the caller's own (the JWT's, else the user's only
 * membership, else the user's own id), or `requested` when the caller is the
 * service role (or job) or an owner/admin member of it. Throws 403 otherwise.
 */
export async function accountAccess(
  caller: Caller,
  requested: string | undefined,
  memberships?: Memberships,
): Promise<AccountAccess> {
  if (caller.kind === "key") {
    // A key is its account's, and no more: not a server caller, not an admin.
    if (requested === undefined || requested === caller.accountId) {
      return { accountId: caller.accountId, role: "member" };
    }
    throw new HttpError(403, "FORBIDDEN", "A gateway key acts for its own account only", {
      field: "accountId",
    });
  }
  if (caller.kind !== "user") return { accountId: requested, role: "service" };
  if (
    caller.accountId !== undefined && (requested === undefined || requested === caller.accountId)
  ) {
    return { accountId: caller.accountId, role: caller.role ?? "member" };
  }
  if (requested === undefined) {
    const mine = memberships ? await memberships.accounts(caller.userId!) : [];
    return mine.length === 1 ? mine[0] : { accountId: caller.userId, role: "owner" };
  }
  if (requested === caller.userId && caller.accountId === undefined) {
    return { accountId: requested, role: "owner" };
  }
  const role = memberships ? await memberships.role(caller.userId!, requested) : undefined;
  if (role === "owner" || role === "admin") return { accountId: requested, role };
  throw new HttpError(
    403,
    "FORBIDDEN",
    "Only the service role and the account's admins may act for another account",
    {
      field: "accountId",
    },
  );
}

/** Whether `access` may administer its account: owners, admins and server code. */
export function isAdmin(access: AccountAccess): boolean {
  return access.role === "service" || access.role === "owner" || access.role === "admin";
}

/** Throws 403 unless `access` may administer its account (keys, other agents' settings). */
export function requireAdmin(access: AccountAccess, what: string): void {
  if (isAdmin(access)) return;
  throw new HttpError(403, "FORBIDDEN", `Only the account's owners and admins may ${what}`);
}
