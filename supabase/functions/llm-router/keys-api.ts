/**
 * `POST /keys`, `GET /keys` and `DELETE /keys/:id`: an account's gateway
 * keys (`llmk_…`), for server code and third-party tools. Admins make a key
 * with a name, an optional expiry, allowed models and use cases, a budget and
 * a rate limit of its own, and get its secret in that one answer only;
 * members list the account's keys by name and prefix; admins revoke them.
 * A key itself can do none of this (`app.ts` keeps keys to the model entrances).
 */
import { z } from "zod";
import { clipInput, HttpError, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { requireAdmin } from "../_shared/http/callers.ts";
import { isTimeZone } from "../_shared/guards/budget-windows.ts";
import { type ModelCatalog, USE_CASES } from "../_shared/llm/catalog.ts";
import type { GatewayKeyRepository } from "../_shared/data/gateway-keys.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import type { RequestContext } from "./context.ts";
import type { ChangeAudit } from "./change-audit.ts";
import { accountOf } from "./account-of.ts";
import { requireDb } from "./needs-database.ts";
import type { Route } from "./routes.ts";

const usd = z.number().min(0).max(1_000_000_000);
const newKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  /** ISO 8601 with a time zone, in the future. */
  expiresAt: z.string().max(64).optional(),
  allowedModels: z.array(z.string().min(1).max(200)).min(1).max(200).optional(),
  allowedUseCases: z.array(z.enum(USE_CASES)).min(1).optional(),
  budget: z.strictObject({
    dailyLimitUsd: usd.optional(),
    monthlyLimitUsd: usd.optional(),
    // The column keeps three decimals: a smaller share would round to 0, which it refuses.
    alertThreshold: z.number().min(0.001).max(1).optional(),
    timeZone: z.string().min(1).max(64).optional(),
  }).optional(),
  rateLimit: z.strictObject({
    requestsPerSecond: z.number().gt(0).max(1_000_000),
    burst: z.int().min(1).max(10_000_000),
  }).optional(),
});

/**
 * Active keys an account may hold: enough for every service and tool, few
 * enough that a script stuck in a loop cannot fill the table.
 */
export const MAX_ACTIVE_KEYS = 100;

/** An ISO 8601 time that names its zone (`Z` or `±hh:mm`): no guessing whose midnight. */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** What the key routes use. */
export interface KeyRoutesDeps {
  /** The accounts' keys; absent without a database (the routes answer 503). */
  keys?: GatewayKeyRepository;
  /** The models an allowance may name. */
  catalog: ModelCatalog;
  audit: ChangeAudit;
  now: () => number;
}

/** `POST /keys`, `GET /keys` and `DELETE /keys/:id`. */
export function keyRoutes(deps: KeyRoutesDeps): Route[] {
  return [
    { method: "POST", pattern: "/keys", handler: (r) => createKey(deps, r) },
    { method: "GET", pattern: "/keys", handler: (r) => listKeys(deps, r) },
    { method: "DELETE", pattern: "/keys/:id", handler: (r) => revokeKey(deps, r) },
  ];
}

/** `POST /keys`: makes a key; 201 with its secret, which no later answer holds. */
async function createKey(deps: KeyRoutesDeps, request: RequestContext): Promise<Response> {
  const keys = requireDb(deps.keys);
  const access = await accountOf(request);
  requireAdmin(access, "make gateway keys");
  const body = parseOrThrow(newKeyBody, request.body);
  const now = deps.now();
  const active = (await keys.list(access.accountId, now)).filter((k) => k.status === "active");
  if (active.length >= MAX_ACTIVE_KEYS) {
    throw new HttpError(
      409,
      "KEY_LIMIT_REACHED",
      `The account already has ${MAX_ACTIVE_KEYS} active keys: revoke one first`,
    );
  }
  const made = await keys.create(access.accountId, {
    name: body.name,
    expiresAt: body.expiresAt === undefined ? undefined : expiryOf(body.expiresAt, now),
    allowedModels: body.allowedModels && knownModels(body.allowedModels, deps.catalog),
    allowedUseCases: body.allowedUseCases && [...new Set(body.allowedUseCases)],
    budget: body.budget && budgetOf(body.budget),
    rateLimit: body.rateLimit,
    createdBy: request.caller.userId,
  }, now);
  deps.audit.record(request, access, {
    action: "gateway_key.create",
    target: `key:${made.key.id}`,
    details: { name: made.key.name, prefix: made.key.prefix, expiresAt: made.key.expiresAt },
  });
  return jsonResponse({ accountId: access.accountId, key: made.key, secret: made.secret }, 201);
}

/** `GET /keys`: the account's keys by name and prefix, newest first (never a secret or hash). */
async function listKeys(deps: KeyRoutesDeps, request: RequestContext): Promise<Response> {
  const keys = requireDb(deps.keys);
  const access = await accountOf(request);
  return jsonResponse({
    accountId: access.accountId,
    keys: await keys.list(access.accountId, deps.now()),
  });
}

/** `DELETE /keys/:id`: revokes the key; it is refused from the next request on (again: no error). */
async function revokeKey(deps: KeyRoutesDeps, request: RequestContext): Promise<Response> {
  const keys = requireDb(deps.keys);
  const access = await accountOf(request);
  requireAdmin(access, "revoke gateway keys");
  const id = request.params.id;
  const revoked = await keys.revoke(access.accountId, id, deps.now());
  // Another account's key is as unknown here as one that never was.
  if (!revoked) throw new HttpError(404, "NOT_FOUND", `The account has no key ${clipInput(id)}`);
  deps.audit.record(request, access, {
    action: "gateway_key.revoke",
    target: `key:${revoked.id}`,
    details: { name: revoked.name, prefix: revoked.prefix },
  });
  return jsonResponse({ accountId: access.accountId, key: revoked, revoked: true });
}

/** `expiresAt` as epoch ms; a 400 unless it is an ISO time with a zone, in the future. */
function expiryOf(expiresAt: string, now: number): number {
  const at = Date.parse(expiresAt);
  if (!ISO_WITH_ZONE.test(expiresAt) || !Number.isFinite(at)) {
    throw validationError(
      "expiresAt",
      "must be an ISO 8601 time with a zone, e.g. 2027-01-31T00:00:00Z",
    );
  }
  if (at <= now) throw validationError("expiresAt", "must be in the future");
  return at;
}

/** The allowed models, each a catalog model (a 400 naming the first that is not), without repeats. */
function knownModels(models: readonly string[], catalog: ModelCatalog): string[] {
  models.forEach((model, i) => {
    if (!catalog.get(model)) {
      throw validationError(`allowedModels[${i}]`, `${clipInput(model)} is not a known model`);
    }
  });
  return [...new Set(models)];
}

/** The key's budget; a 400 when it sets no limit or names an unknown time zone. */
function budgetOf(budget: NonNullable<z.infer<typeof newKeyBody>["budget"]>) {
  if (budget.dailyLimitUsd === undefined && budget.monthlyLimitUsd === undefined) {
    throw validationError("budget", "set dailyLimitUsd, monthlyLimitUsd or both");
  }
  const timeZone = budget.timeZone ?? "UTC";
  if (!isTimeZone(timeZone)) {
    throw validationError(
      "budget.timeZone",
      "must be an IANA time zone such as UTC or Europe/Berlin",
    );
  }
  return {
    dailyLimitUsd: budget.dailyLimitUsd ?? null,
    monthlyLimitUsd: budget.monthlyLimitUsd ?? null,
    alertThreshold: budget.alertThreshold ?? 0.8,
    timeZone,
  };
}
