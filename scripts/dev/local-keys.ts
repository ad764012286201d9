/**
 * The local keys `deno task dev` prints, as `supabase start` prints its own:
 * anon and service-role keys plus a ready-made user and admin access token,
 * all signed with the Supabase CLI's public local JWT secret. Claims are
 * fixed (issued 2023, expiring 2100), so the tokens are the same on every
 * machine and can be pasted from the README.
 */
import { Hs256Jwt } from "../../supabase/functions/_shared/security/jwt-hs256.ts";

/** The Supabase CLI's local JWT secret. Public: never use it for a deployed project. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

/** Ids of the local demo user and its account. */
export const LOCAL_USER_ID = "00000000-0000-4000-8000-000000000001";
export const LOCAL_ADMIN_ID = "00000000-0000-4000-8000-000000000002";
export const LOCAL_ACCOUNT_ID = "00000000-0000-4000-8000-0000000000a1";

const ISSUED_AT = 1_700_000_000;
const EXPIRES_AT = 4_102_444_800;

/** The four local credentials. */
export interface LocalKeys {
  anonKey: string;
  serviceRoleKey: string;
  userToken: string;
  adminToken: string;
}

/**
 * Signs the local credentials with `secret`. User tokens carry `issuer` as
 * their `iss` (a local Supabase's is `<api url>/auth/v1`); the anon and
 * service-role keys keep the CLI's `supabase-demo`.
 */
export async function localKeys(
  options: { secret?: string; issuer?: string } = {},
): Promise<LocalKeys> {
  const jwt = new Hs256Jwt(options.secret ?? LOCAL_JWT_SECRET);
  const base = { iss: "supabase-demo", iat: ISSUED_AT, exp: EXPIRES_AT };
  const user = (sub: string, email: string, role: string) => ({
    ...base,
    iss: options.issuer ?? base.iss,
    sub,
    aud: "authenticated",
    role: "authenticated",
    email,
    app_metadata: { provider: "email", account_id: LOCAL_ACCOUNT_ID, role },
  });
  return {
    anonKey: await jwt.sign({ ...base, role: "anon" }),
    serviceRoleKey: await jwt.sign({ ...base, role: "service_role" }),
    userToken: await jwt.sign(user(LOCAL_USER_ID, "user@local.test", "member")),
    adminToken: await jwt.sign(user(LOCAL_ADMIN_ID, "admin@local.test", "admin")),
  };
}
