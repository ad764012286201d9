/**
 * Who is calling: a signed-in Supabase user, proved by the JWT in
 * `Authorization: Bearer`. Anything else is a 401 with a precise code.
 */
import { HttpError } from "./errors.ts";
import { Hs256Jwt, JwtClaims, JwtError } from "../security/jwt-hs256.ts";

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

/** Verifies the caller is a signed-in user (not the anon or service key); throws a 401. */
export async function authenticateUser(
  request: Request,
  jwt: Hs256Jwt,
  nowMs: number,
): Promise<AuthenticatedUser> {
  const token = bearerToken(request);
  if (!token) {
    throw unauthorized("AUTH_MISSING", "Authorization: Bearer <user access token> is required");
  }
  let claims: JwtClaims;
  try {
    claims = await jwt.verify(token, Math.floor(nowMs / 1000));
  } catch (error) {
    if (error instanceof JwtError) {
      if (error.reason === "expired") {
        throw unauthorized("AUTH_EXPIRED", "Access token has expired; refresh the session");
      }
      throw unauthorized("AUTH_INVALID", `Access token rejected: ${error.message}`);
    }
    throw error;
  }
  if (claims.role !== "authenticated" || typeof claims.sub !== "string" || claims.sub === "") {
    throw unauthorized(
      "AUTH_USER_REQUIRED",
      "A signed-in user's access token is required (anon and service keys are not users)",
    );
  }
  return { userId: claims.sub, claims };
}

function unauthorized(code: string, message: string): HttpError {
  return new HttpError(401, code, message, {}, { "www-authenticate": 'Bearer realm="functions"' });
}
