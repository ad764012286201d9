/** The credentials the server-facing functions accept, from env (llm-router, llm-metrics, llm-health). */
import type { EnvReader } from "../runtime/env.ts";
import { verifiedClaims } from "./auth.ts";
import type { CallerCredentials } from "./callers.ts";
import { JwtVerifier, supabaseJwtVerifierOptions } from "../security/jwt-verifier.ts";

/**
 * User tokens (HS256 secret and/or the project's JWKS), the service-role key
 * and LLM_SERVICE_KEYS, and the job secret. `realm` names the function in
 * `WWW-Authenticate`; `fetch` reaches the JWKS (tests inject one).
 */
export function callerCredentialsFromEnv(
  env: EnvReader,
  options: { realm: string; now: () => number; fetch?: typeof fetch },
  warnings: string[],
): CallerCredentials {
  const jwt = supabaseJwtVerifierOptions(env, warnings);
  const verifier = jwt.configured
    ? new JwtVerifier({
      ...jwt.options,
      now: options.now,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    })
    : undefined;
  return {
    verifyToken: verifier ? (token) => verifiedClaims(verifier, token, options.realm) : undefined,
    serverKeys: serverKeysFromEnv(env),
    jobSecret: env("LLM_JOB_SECRET"),
    realm: options.realm,
  };
}

/**
 * The exact keys that make a server caller: SUPABASE_SERVICE_ROLE_KEY and the
 * comma-separated LLM_SERVICE_KEYS. The same list in every function.
 */
export function serverKeysFromEnv(env: EnvReader): string[] {
  return [env("SUPABASE_SERVICE_ROLE_KEY"), ...(env("LLM_SERVICE_KEYS")?.split(",") ?? [])]
    .map((key) => key?.trim())
    .filter((key): key is string => !!key);
}
