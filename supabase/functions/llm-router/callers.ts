/**
 * Who is calling llm-router: a signed-in user (their account and role from
 * the JWT's app_metadata) or server code with the service-role key. Only
 * admins and the service role may act for another account.
 */
import { bearerToken } from "../_shared/http/auth.ts";
import { HttpError } from "../_shared/http/errors.ts";
import { Hs256Jwt, JwtError } from "../_shared/security/jwt-hs256.ts";

/** An authenticated caller. */
export interface Caller {
  kind: "user" | "service";
  userId?: string;
  /** The account the caller acts for by default. */
  accountId?: string;
  role: "member" | "admin" | "owner" | "service";
}

/** What verification needs. */
export interface CallerVerifier {
  /** Absent when no JWT secret is configured: then only the service key is accepted. */
  jwt?: Hs256Jwt;
  serviceRoleKey?: string;
  now: () => number;
}

/** Resolves the caller from `Authorization: Bearer`; throws a 401 `HttpError`. */
export async function authenticateCaller(
  request: Request,
  verifier: CallerVerifier,
): Promise<Caller> {
  const token = bearerToken(request);
  if (!token) {
    throw unauthorized(
      "AUTH_MISSING",
      "Authorization: Bearer <access token or service key> is required",
    );
  }
  // Equal lengths first: the key's length is no secret, and user tokens skip the hashing.
  const key = verifier.serviceRoleKey;
  if (key && token.length === key.length && await sameSecret(token, key)) {
    return { kind: "service", role: "service" };
  }
  if (!verifier.jwt) {
    throw unauthorized(
      "AUTH_INVALID",
      "User tokens are not accepted: SUPABASE_JWT_SECRET is not configured",
    );
  }
  let claims;
  try {
    claims = await verifier.jwt.verify(token, Math.floor(verifier.now() / 1000));
  } catch (error) {
    if (!(error instanceof JwtError)) throw error;
    if (error.reason === "expired") {
      throw unauthorized("AUTH_EXPIRED", "Access token has expired; refresh the session");
    }
    throw unauthorized("AUTH_INVALID", `Access token rejected: ${error.message}`);
  }
  if (claims.role === "service_role") return { kind: "service", role: "service" };
  if (claims.role !== "authenticated" || typeof claims.sub !== "string") {
    throw unauthorized(
      "AUTH_USER_REQUIRED",
      "A user's access token or the service key is required (not the anon key)",
    );
  }
  const meta = (claims.app_metadata ?? {}) as Record<string, unknown>;
  const role = meta.role === "admin" || meta.role === "owner" ? meta.role : "member";
  return {
    kind: "user",
    userId: claims.sub,
    accountId: typeof meta.account_id === "string" ? meta.account_id : claims.sub,
    role,
  };
}

/** The account a request acts for: the caller's own, or `requested` if the caller may choose. */
export function accountFor(caller: Caller, requested: string | undefined): string | undefined {
  if (requested === undefined || requested === caller.accountId) return caller.accountId;
  if (caller.role === "service" || caller.role === "admin") return requested;
  throw new HttpError(403, "FORBIDDEN", "Only admins and the service role may pass accountId", {
    field: "accountId",
  });
}

function unauthorized(code: string, message: string): HttpError {
  return new HttpError(401, code, message, {}, { "www-authenticate": 'Bearer realm="llm-router"' });
}

/** Compares secrets in constant time (via their SHA-256), so timing reveals nothing. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all(
    [a, b].map((s) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))),
  );
  const left = new Uint8Array(x);
  const right = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff |= left[i] ^ right[i];
  return diff === 0;
}
