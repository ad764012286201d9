/**
 * `GET /rate-limits/status`: a caller's bucket as its next request finds it
 * (read, never taken from), and `POST /rate-limits/reset?accountId=`: the
 * platform refills an account's bucket, audited. The limit itself is set
 * with `PUT /rate-limits` (guards-api.ts).
 */
import { jsonResponse, validationError } from "../_shared/http/errors.ts";
import type { GatewayGuards } from "../_shared/guards/gateway-guards.ts";
import type { RequestContext } from "./context.ts";
import type { ChangeAudit } from "./change-audit.ts";
import { accountOf } from "./account-of.ts";
import { requireServerKey } from "./server-only.ts";
import type { Route } from "./routes.ts";

/** What the rate-limit status routes use. */
export interface RateLimitStatusDeps {
  guards: GatewayGuards;
  audit: ChangeAudit;
}

/** `GET /rate-limits/status` and `POST /rate-limits/reset`. */
export function rateLimitStatusRoutes(deps: RateLimitStatusDeps): Route[] {
  return [
    {
      method: "GET",
      pattern: "/rate-limits/status",
      handler: (r) => getRateLimitStatus(deps, r),
    },
    {
      method: "POST",
      pattern: "/rate-limits/reset",
      handler: (r) => resetRateLimit(deps, r),
      noBody: true,
    },
  ];
}

/** `GET /rate-limits/status[?accountId=]`: any caller, for its account (or one it may act for). */
async function getRateLimitStatus(
  deps: RateLimitStatusDeps,
  request: RequestContext,
): Promise<Response> {
  const access = await accountOf(request);
  const { scope, source, bucket, reading } = await deps.guards.rateLimitStatus(
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
async function resetRateLimit(
  deps: RateLimitStatusDeps,
  request: RequestContext,
): Promise<Response> {
  requireServerKey(request.caller, "reset an account's rate limit");
  if (!request.query.get("accountId")) {
    throw validationError("accountId", "is required: the account whose bucket to refill");
  }
  const access = await accountOf(request);
  const scope = await deps.guards.resetRateLimit(access.accountId);
  deps.audit.record(request, access, { action: "rate_limit.reset", target: "account" });
  return jsonResponse({ accountId: access.accountId, scope, reset: true });
}
