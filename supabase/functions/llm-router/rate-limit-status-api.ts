/**
 * `GET /rate-limits/status`: a caller's bucket as its next request finds it
 * (read, never taken from), and `POST /rate-limits/reset?accountId=`: the
 * platform refills an account's bucket, audited. The limit itself is set
 * with `PUT /rate-limits` (guards-api.ts).
 */
import { jsonResponse, validationError } from "../_shared/http/errors.ts";
import type { RouterRequestContext } from "./context.ts";
import { accountOf } from "./account-of.ts";
import { auditChange } from "./audit-change.ts";
import { requireServerKey } from "./server-only.ts";

/** `GET /rate-limits/status[?accountId=]`: any caller, for its account (or one it may act for). */
export async function getRateLimitStatus(context: RouterRequestContext): Promise<Response> {
  const access = await accountOf(context);
  const { scope, source, bucket, reading } = await context.world.guards.rateLimitStatus(
    access.accountId,
  );
  return jsonResponse({
    accountId: access.accountId,
    scope,
    source,
    // The next request would be refused: not one whole token left.
    limited: reading !== undefined && reading.available < 1,
    tokensAvailable: reading?.available ?? null,
    refillPerSecond: bucket?.refillPerSecond ?? null,
    burst: bucket?.capacity ?? null,
    resetMs: reading?.resetMs ?? 0,
    retryAfterMs: reading?.retryAfterMs ?? 0,
  });
}

/** `POST /rate-limits/reset?accountId=`: refills the account's bucket. Server keys only. */
export async function resetRateLimit(context: RouterRequestContext): Promise<Response> {
  requireServerKey(context.caller, "reset an account's rate limit");
  if (!context.query.get("accountId")) {
    throw validationError("accountId", "is required: the account whose bucket to refill");
  }
  const access = await accountOf(context);
  const scope = await context.world.guards.resetRateLimit(access.accountId);
  auditChange(context, access, { action: "rate_limit.reset", target: "account" });
  return jsonResponse({ accountId: access.accountId, scope, reset: true });
}
