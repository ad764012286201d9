/**
 * Who is calling: a signed-in Supabase user, proved by the JWT in
 * `Authorization: Bearer` (HS256 with the project secret, or Supabase's
 * asymmetric keys through JWKS). Anything else is a 401 with a precise code;
 * a key set we cannot reach is our failure, a 503.
 */
import { HttpError } from "./errors.ts";
import type { JwtClaims } from "../security/jwt-hs256.ts";
import { jwtFailureStatus, type JwtVerifier, JwtVerifyError } from "../security/jwt-verifier.ts";

/** An authenticated end user. */
export interface AuthenticatedUser {
  userId: string;
  claims: JwtClaims;
}

/** The bearer token of `request`, or undefined when there is none. */
export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * The credential of a server-facing caller: the bearer token, else the
 * `x-api-key` header Anthropic's SDKs and tools send their key in. Either
 * header carries the same credentials (user JWT, service key …).
 */
export function callerToken(request: Request): string | undefined {
  return bearerToken(request) ?? (request.headers.get("x-api-key")?.trim() || undefined);
}

/** Verifies `token`, turning a refusal into the HTTP error the caller gets. */
export async function verifiedClaims(
  verifier: JwtVerifier,
  token: string,
  realm: string,
): Promise<JwtClaims> {
  try {
    return await verifier.verify(token);
  } catch (error) {
    if (error instanceof JwtVerifyError) throw httpErrorForJwt(error, realm);
    throw error;
  }
}

/** The HTTP error for a refused token. */
export function httpErrorForJwt(error: JwtVerifyError, realm: string): HttpError {
  if (jwtFailureStatus(error.reason) === 503) {
    return error.reason === "not_configured"
      ? new HttpError(
        503,
        "CONFIG_MISSING",
        "Set SUPABASE_JWT_SECRET or SUPABASE_URL to verify user tokens",
        {
          missing: ["SUPABASE_JWT_SECRET", "SUPABASE_URL"],
        },
      )
      : new HttpError(
        503,
        "AUTH_UNAVAILABLE",
        "The signing keys cannot be fetched right now; try again shortly",
        {},
        {
          "retry-after": "30",
        },
      );
  }
  return error.reason === "expired"
    ? unauthorized("AUTH_EXPIRED", "Access token has expired; refresh the session", realm)
    : unauthorized("AUTH_INVALID", `Access token rejected: ${error.message}`, realm);
}

/** Verifies the caller is a signed-in user (not the anon or service key); throws a 401. */
export async function authenticateUser(
  request: Request,
  verifier: JwtVerifier,
): Promise<AuthenticatedUser> {
  const token = bearerToken(request);
  if (!token) {
    throw unauthorized(
      "AUTH_MISSING",
      "Authorization: Bearer <user access token> is required",
      "functions",
    );
  }
  const claims = await verifiedClaims(verifier, token, "functions");
  if (claims.role !== "authenticated" || typeof claims.sub !== "string" || claims.sub === "") {
    throw unauthorized(
      "AUTH_USER_REQUIRED",
      "A signed-in user's access token is required (anon and service keys are not users)",
      "functions",
    );
  }
  return { userId: claims.sub, claims };
}

/** A 401 with the `WWW-Authenticate` challenge. */
export function unauthorized(code: string, message: string, realm: string): HttpError {
  return new HttpError(401, code, message, {}, { "www-authenticate": `Bearer realm="${realm}"` });
}
