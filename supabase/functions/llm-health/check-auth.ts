/**
 * Who may run `POST /check`: server code with a server key (`Authorization:
 * Bearer`, the same rule as llm-router and llm-metrics: exactly
 * SUPABASE_SERVICE_ROLE_KEY or one of LLM_SERVICE_KEYS), or the database
 * scheduler with the job secret (`x-job-secret`, the function's
 * LLM_JOB_SECRET). Pings cost money, so nobody else may force them.
 */
import { bearerToken, unauthorized } from "../_shared/http/auth.ts";
import { isServerKey } from "../_shared/http/callers.ts";
import { sameSecret } from "../_shared/security/same-secret.ts";

/** The function a 401 names in its `WWW-Authenticate` challenge. */
const REALM = "llm-health";

/** Accepted secrets; an empty list or an unset secret accepts nothing. */
export interface CheckCredentials {
  serverKeys: readonly string[];
  jobSecret?: string;
}

/** Throws a 401 `HttpError` unless `request` carries one of `credentials`. */
export async function requireScheduler(
  request: Request,
  credentials: CheckCredentials,
): Promise<void> {
  const jobSecret = request.headers.get("x-job-secret");
  const token = bearerToken(request);
  if (jobSecret === null && token === undefined) {
    throw unauthorized(
      "AUTH_MISSING",
      "Authorization: Bearer <service key> or x-job-secret is required",
      REALM,
    );
  }
  if (jobSecret !== null && credentials.jobSecret) {
    if (await sameSecret(jobSecret, credentials.jobSecret)) return;
  }
  if (token !== undefined && await isServerKey(token, credentials.serverKeys)) return;
  throw unauthorized("AUTH_INVALID", "The service key or job secret is wrong", REALM);
}
