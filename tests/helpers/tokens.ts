/** Signing test tokens with the local dev JWT secret. */
import { Hs256Jwt, JwtClaims } from "../../supabase/functions/_shared/security/jwt-hs256.ts";

/** The Supabase CLI's local JWT secret, as the dev server uses. */
export const DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

/** Signs `claims` (merged over a valid user's) with `secret`. */
export function signToken(claims: JwtClaims = {}, secret = DEV_JWT_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new Hs256Jwt(secret).sign({
    sub: "11111111-1111-4111-8111-111111111111",
    role: "authenticated",
    aud: "authenticated",
    iat: now,
    exp: now + 3600,
    ...claims,
  });
}
