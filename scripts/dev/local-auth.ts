/**
 * A minimal local stand-in for Supabase Auth (GoTrue) at `<api url>/auth/v1`,
 * so a real `@supabase/supabase-js` client signs in against `deno task dev`
 * as it would against a Supabase project: `signInWithPassword`,
 * `getSession`, `refreshSession`, `getUser` and `signOut` work.
 *
 * Two users, both of the local account: `user@local.test` (a member) and
 * `admin@local.test` (an admin), password `local-password`. Access tokens
 * are HS256 JWTs signed with the local JWT secret, with the claims of the
 * tokens `deno task dev` prints (plus a session id), valid for one hour;
 * refresh tokens rotate on every use and live in this process's memory.
 * Only served while the dev server uses the local JWT secret: the password
 * is public.
 */
import { base64UrlEncode } from "../../supabase/functions/_shared/security/base64url.ts";
import { Hs256Jwt, type JwtClaims } from "../../supabase/functions/_shared/security/jwt-hs256.ts";
import { JwtVerifier } from "../../supabase/functions/_shared/security/jwt-verifier.ts";
import { LOCAL_ACCOUNT_ID, LOCAL_ADMIN_ID, LOCAL_USER_ID } from "./local-keys.ts";

/** The password of both local users. Public, like the local JWT secret. */
export const LOCAL_PASSWORD = "local-password";

/** A user the stand-in signs in. */
export interface LocalUser {
  id: string;
  email: string;
  /** `app_metadata.role`: the user's role in the local account. */
  role: "member" | "admin";
}

/** The local member and admin. */
export const LOCAL_USERS: readonly LocalUser[] = [
  { id: LOCAL_USER_ID, email: "user@local.test", role: "member" },
  { id: LOCAL_ADMIN_ID, email: "admin@local.test", role: "admin" },
];

/** Lifetime of an access token, as GoTrue's default `jwt_expiry`. */
const EXPIRES_IN_SECONDS = 3_600;
/** A fixed creation time, so a user object is the same on every machine. */
const CREATED_AT = "2023-11-14T22:13:20.000Z";

/** Options of `createLocalAuth`. */
export interface LocalAuthOptions {
  /** The JWT secret the functions verify with. */
  secret: string;
  /** `iss` of the tokens: `<SUPABASE_URL>/auth/v1`, as the functions require. */
  issuer: string;
  /** Milliseconds since the epoch; `Date.now` by default. */
  now?: () => number;
}

type Handler = (request: Request) => Promise<Response>;

interface RefreshGrant {
  user: LocalUser;
  sessionId: string;
}

/** The `/auth/v1/*` handler. */
export function createLocalAuth(options: LocalAuthOptions): Handler {
  const jwt = new Hs256Jwt(options.secret);
  const now = options.now ?? Date.now;
  const verifier = new JwtVerifier({ hs256Secret: options.secret, now });
  const grants = new Map<string, RefreshGrant>();

  const session = async (user: LocalUser, sessionId: string) => {
    const iat = Math.floor(now() / 1_000);
    const refreshToken = randomToken();
    grants.set(refreshToken, { user, sessionId });
    const claims: JwtClaims = {
      iss: options.issuer,
      sub: user.id,
      aud: "authenticated",
      role: "authenticated",
      email: user.email,
      app_metadata: { provider: "email", account_id: LOCAL_ACCOUNT_ID, role: user.role },
      iat,
      exp: iat + EXPIRES_IN_SECONDS,
      session_id: sessionId,
      // Every token differs, even two issued within the same second.
      jti: crypto.randomUUID(),
    };
    return {
      access_token: await jwt.sign(claims),
      token_type: "bearer",
      expires_in: EXPIRES_IN_SECONDS,
      expires_at: iat + EXPIRES_IN_SECONDS,
      refresh_token: refreshToken,
      user: userObject(user),
    };
  };

  const signedIn = async (request: Request): Promise<JwtClaims | undefined> => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (!token) return undefined;
    try {
      return await verifier.verify(token);
    } catch {
      return undefined;
    }
  };

  return async (request) => {
    if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
    const url = new URL(request.url);
    const route = `${request.method} ${url.pathname.replace(/^\/auth\/v1/, "")}`;
    switch (route) {
      case "POST /token": {
        const body = await request.json().catch(() => ({})) as Record<string, unknown>;
        const grantType = url.searchParams.get("grant_type");
        if (grantType === "password") {
          const email = typeof body.email === "string" ? body.email.toLowerCase() : "";
          const user = LOCAL_USERS.find((u) => u.email === email);
          if (!user || body.password !== LOCAL_PASSWORD) {
            return authError(400, "invalid_credentials", "Invalid login credentials");
          }
          return json(await session(user, crypto.randomUUID()));
        }
        if (grantType === "refresh_token") {
          const token = typeof body.refresh_token === "string" ? body.refresh_token : "";
          const grant = grants.get(token);
          if (!grant) {
            return authError(
              400,
              "refresh_token_not_found",
              "Invalid Refresh Token: Refresh Token Not Found",
            );
          }
          grants.delete(token);
          return json(await session(grant.user, grant.sessionId));
        }
        return authError(400, "validation_failed", "grant_type must be password or refresh_token");
      }
      case "GET /user": {
        const claims = await signedIn(request);
        const user = LOCAL_USERS.find((u) => u.id === claims?.sub);
        if (!user) return authError(401, "bad_jwt", "invalid JWT: unable to parse or verify");
        return json(userObject(user));
      }
      case "POST /logout": {
        const claims = await signedIn(request);
        if (!claims) return authError(401, "bad_jwt", "invalid JWT: unable to parse or verify");
        const scope = url.searchParams.get("scope") ?? "global";
        for (const [token, grant] of grants) {
          const sameSession = grant.sessionId === claims.session_id;
          const ends = grant.user.id === claims.sub &&
            (scope === "global" || (scope === "local") === sameSession);
          if (ends) grants.delete(token);
        }
        return new Response(null, { status: 204, headers: CORS });
      }
      case "GET /.well-known/jwks.json":
        // Tokens here are HS256 only: no public keys, as a project on the legacy secret.
        return json({ keys: [] });
      default:
        return authError(404, "not_found", `The local auth has no ${route}`);
    }
  };
}

/** Sends `/auth/v1/*` to `auth` and everything else to `next`. */
export function withLocalAuth(auth: Handler, next: Handler): Handler {
  return (request) =>
    new URL(request.url).pathname.startsWith("/auth/v1/") ? auth(request) : next(request);
}

/** What `deno task dev` prints about signing in. */
export function localAuthLines(apiUrl: string): string[] {
  return [
    `Local auth (supabase-js signInWithPassword against ${apiUrl}, anon key above):`,
    ...LOCAL_USERS.map((u) => `  ${u.email.padEnd(17)} password ${LOCAL_PASSWORD}  (${u.role})`),
  ];
}

/** GoTrue's user object. */
function userObject(user: LocalUser) {
  return {
    id: user.id,
    aud: "authenticated",
    role: "authenticated",
    email: user.email,
    email_confirmed_at: CREATED_AT,
    phone: "",
    confirmed_at: CREATED_AT,
    last_sign_in_at: CREATED_AT,
    app_metadata: {
      provider: "email",
      providers: ["email"],
      account_id: LOCAL_ACCOUNT_ID,
      role: user.role,
    },
    user_metadata: {},
    identities: [],
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    is_anonymous: false,
  };
}

/** A page served from elsewhere (a static console) signs in too. */
const CORS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, apikey, content-type, x-client-info, x-supabase-api-version",
  "access-control-allow-methods": "GET, POST, OPTIONS",
};

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: CORS });
}

/** GoTrue's error body; supabase-js reads `error_code` and `msg`. */
function authError(status: number, code: string, message: string): Response {
  return json({ code: status, error_code: code, msg: message }, status);
}

function randomToken(): string {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(24)));
}
