/**
 * `POST/GET /alerts/webhooks`, `DELETE /alerts/webhooks/:id` and `GET
 * /alerts/deliveries`: where an account's budget and circuit alerts go (its
 * owners and admins), or the deployment's (a server key without
 * `accountId`), and how their deliveries went. A URL is checked before it
 * is stored and shown afterwards as its origin only; a secret is never
 * shown, except one the gateway generated, once, in the answer that made it.
 */
import { z } from "zod";
import { HttpError, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { type AccountAccess, requireAdmin } from "../_shared/http/callers.ts";
import { isUuid } from "../_shared/data/ids.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import { ALERT_EVENT_TYPES } from "../_shared/alerts/events.ts";
import { ALERT_FORMATS } from "../_shared/alerts/render.ts";
import { newWebhookSecret } from "../_shared/alerts/signature.ts";
import { checkWebhookUrl, type HttpWebhooks } from "../_shared/alerts/webhook-url.ts";
import { type AlertWebhooks, MAX_WEBHOOKS_PER_SCOPE } from "../_shared/alerts/webhooks.ts";
import type { AlertDeliveries } from "../_shared/alerts/deliveries.ts";
import type { RequestContext } from "./context.ts";
import type { ChangeAudit } from "./change-audit.ts";
import { accountOf } from "./account-of.ts";
import { requireDb } from "./needs-database.ts";
import type { Route } from "./routes.ts";

const webhookBody = z.strictObject({
  url: z.string().min(1),
  format: z.enum(ALERT_FORMATS),
  events: z.array(z.enum(ALERT_EVENT_TYPES)).min(1).max(ALERT_EVENT_TYPES.length * 2),
  secret: z.string().regex(/^[\x21-\x7e]{16,256}$/, "must be 16 to 256 printable ASCII characters")
    .optional(),
});

const DELIVERY_STATUSES = ["pending", "running", "succeeded", "failed"] as const;

/** What the alert routes use. */
export interface AlertRoutesDeps {
  /** Both absent without a database (the routes answer 503). */
  webhooks?: AlertWebhooks;
  deliveries?: AlertDeliveries;
  httpWebhooks: HttpWebhooks;
  audit: ChangeAudit;
}

/** The alert routes. */
export function alertRoutes(deps: AlertRoutesDeps): Route[] {
  return [
    { method: "POST", pattern: "/alerts/webhooks", handler: (r) => createWebhook(deps, r) },
    { method: "GET", pattern: "/alerts/webhooks", handler: (r) => listWebhooks(deps, r) },
    {
      method: "DELETE",
      pattern: "/alerts/webhooks/:id",
      handler: (r) => deleteWebhook(deps, r),
    },
    { method: "GET", pattern: "/alerts/deliveries", handler: (r) => listDeliveries(deps, r) },
  ];
}

/**
 * Whose destinations a request manages: the deployment's (null) for a server
 * key naming no account, else the account's, for its owners and admins.
 */
async function scopeOf(
  request: RequestContext,
): Promise<{ access: AccountAccess; accountId: string | null }> {
  if (request.caller.kind === "service" && !request.query.has("accountId")) {
    return { access: { role: "service" }, accountId: null };
  }
  const access = await accountOf(request);
  requireAdmin(access, "manage alert webhooks");
  return { access, accountId: access.accountId };
}

/** `POST /alerts/webhooks`. */
async function createWebhook(deps: AlertRoutesDeps, request: RequestContext): Promise<Response> {
  const webhooks = requireDb(deps.webhooks);
  const { access, accountId } = await scopeOf(request);
  const body = parseOrThrow(webhookBody, request.body);
  const checked = checkWebhookUrl(body.url, deps.httpWebhooks);
  if ("problem" in checked) throw validationError("url", checked.problem);
  // Generic JSON is always signed: without a secret of the caller's, the gateway makes one.
  const generated = body.secret === undefined && body.format === "json"
    ? newWebhookSecret()
    : undefined;
  const created = await webhooks.create({
    accountId,
    url: checked.url,
    urlHint: checked.hint,
    format: body.format,
    events: [...new Set(body.events)],
    secret: body.secret ?? generated ?? null,
    createdBy: isUuid(request.caller.userId) ? request.caller.userId : undefined,
  });
  if (!created) {
    throw new HttpError(
      409,
      "WEBHOOK_LIMIT",
      `At most ${MAX_WEBHOOKS_PER_SCOPE} alert webhooks per account (and for the deployment); delete one first`,
    );
  }
  deps.audit.record(request, access, {
    action: "alert_webhook.create",
    target: `webhook:${created.id}`,
    details: {
      url: created.urlHint,
      format: created.format,
      events: created.events.join(","),
      signed: created.signed,
    },
  });
  return jsonResponse(generated ? { ...created, secret: generated } : created, 201);
}

/** `GET /alerts/webhooks`. */
async function listWebhooks(deps: AlertRoutesDeps, request: RequestContext): Promise<Response> {
  const webhooks = requireDb(deps.webhooks);
  const { accountId } = await scopeOf(request);
  return jsonResponse({ accountId, webhooks: await webhooks.list(accountId) });
}

/** `DELETE /alerts/webhooks/:id`: its deliveries still waiting fail. */
async function deleteWebhook(deps: AlertRoutesDeps, request: RequestContext): Promise<Response> {
  const webhooks = requireDb(deps.webhooks);
  const { access, accountId } = await scopeOf(request);
  const id = request.params.id;
  if (!isUuid(id) || !await webhooks.delete(id, accountId)) {
    throw new HttpError(
      404,
      "NOT_FOUND",
      "No such alert webhook here; GET /alerts/webhooks lists them",
    );
  }
  deps.audit.record(request, access, { action: "alert_webhook.delete", target: `webhook:${id}` });
  return jsonResponse({ accountId, id, deleted: true });
}

/** `GET /alerts/deliveries?webhookId=&status=&limit=`: newest first. */
async function listDeliveries(deps: AlertRoutesDeps, request: RequestContext): Promise<Response> {
  const deliveries = requireDb(deps.deliveries);
  const { accountId } = await scopeOf(request);
  const { query } = request;
  const webhookId = query.get("webhookId") ?? undefined;
  if (webhookId !== undefined && !isUuid(webhookId)) {
    throw validationError("webhookId", "must be a webhook's id (a UUID)");
  }
  const status = query.get("status") ?? undefined;
  if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
    throw validationError("status", `must be one of ${DELIVERY_STATUSES.join(", ")}`);
  }
  const rawLimit = query.get("limit");
  const limit = rawLimit === null ? 50 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
    throw validationError("limit", "must be an integer from 1 to 200");
  }
  return jsonResponse({
    accountId,
    deliveries: await deliveries.list(accountId, { webhookId, status, limit }),
  });
}
