/**
 * `GET /providers` and `PUT/DELETE /providers/:name/key`: which providers an
 * account can use, and the account's own keys (BYOK). A key is encrypted
 * before it is stored, never logged, and afterwards shown only as a hint
 * (its last four characters) and only to the account's admins: members
 * see that the account has a key, nothing of it.
 */
import { z } from "zod";
import { clipInput, HttpError, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { isUuid } from "../_shared/data/ids.ts";
import { validateProviderKey } from "../_shared/security/key-vault.ts";
import { type AccountAccess, isAdmin, requireAdmin } from "../_shared/http/callers.ts";
import type { ProviderKeyRepository } from "../_shared/data/provider-keys.ts";
import type { KeyVault } from "../_shared/security/key-vault.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import type { RequestContext } from "./context.ts";
import type { AccountRouters } from "./account-routers.ts";
import type { ChangeAudit } from "./change-audit.ts";
import { accountOf } from "./account-of.ts";
import { requireDb } from "./needs-database.ts";
import type { Route } from "./routes.ts";

const keyBody = z.strictObject({ apiKey: z.string() });

/** What the provider routes use. */
export interface ProviderRoutesDeps {
  routers: AccountRouters;
  /** The accounts' stored keys; absent without a database (writes answer 503). */
  keys?: ProviderKeyRepository;
  /** The key vault, or why there is none (writes answer 503 with it). */
  vault: KeyVault | string;
  audit: ChangeAudit;
}

/** `GET /providers` and `PUT/DELETE /providers/:name/key`. */
export function providerRoutes(deps: ProviderRoutesDeps): Route[] {
  return [
    { method: "GET", pattern: "/providers", handler: (r) => listProviders(deps, r) },
    { method: "PUT", pattern: "/providers/:name/key", handler: (r) => putProviderKey(deps, r) },
    {
      method: "DELETE",
      pattern: "/providers/:name/key",
      handler: (r) => deleteProviderKey(deps, r),
    },
  ];
}

/** `GET /providers`: every provider, whether the platform or the account has a key, and its models. */
async function listProviders(deps: ProviderRoutesDeps, request: RequestContext): Promise<Response> {
  const access = await request.access(request.query.get("accountId") ?? undefined);
  const router = await deps.routers.forAccount(access.accountId);
  const platform = new Set(deps.routers.platform.availableProviders());
  const accountKeys = deps.keys && isUuid(access.accountId)
    ? await deps.keys.list(access.accountId)
    : [];
  const models = router.catalog.all();
  const admin = isAdmin(access);
  return jsonResponse({
    accountId: access.accountId ?? null,
    providers: router.providers().map(({ spec, hasKey }) => {
      const own = accountKeys.find((key) => key.provider === spec.name);
      return {
        name: spec.name,
        protocol: spec.protocol,
        usable: hasKey,
        platformKey: platform.has(spec.name),
        accountKey: own
          ? admin
            ? {
              configured: true,
              keyHint: own.keyHint,
              keyVersion: own.keyVersion,
              updatedAt: own.updatedAt,
            }
            : { configured: true }
          : null,
        models: models.filter((m) => m.provider === spec.name).map((m) => m.id),
      };
    }),
  });
}

async function keyTarget(
  deps: ProviderRoutesDeps,
  request: RequestContext,
): Promise<{ access: AccountAccess & { accountId: string }; provider: string }> {
  const access = await accountOf(request);
  requireAdmin(access, "manage provider keys");
  const provider = request.params.name;
  if (!deps.routers.platform.providers().some(({ spec }) => spec.name === provider)) {
    throw new HttpError(
      404,
      "NOT_FOUND",
      `Unknown provider ${clipInput(provider)}; GET /providers lists them`,
    );
  }
  return { access, provider };
}

/** `PUT /providers/:name/key`: stores the account's own key for a provider. */
async function putProviderKey(
  deps: ProviderRoutesDeps,
  request: RequestContext,
): Promise<Response> {
  const keys = requireDb(deps.keys);
  const { access, provider } = await keyTarget(deps, request);
  const { apiKey } = parseOrThrow(keyBody, request.body);
  const problem = validateProviderKey(apiKey);
  if (problem) throw validationError("apiKey", problem);
  const vault = deps.vault;
  if (typeof vault === "string") {
    throw new HttpError(503, "CONFIG_MISSING", `Provider keys cannot be stored: ${vault}`, {
      missing: ["LLM_KEY_ENCRYPTION_KEYS"],
    });
  }
  const saved = await keys.put(access.accountId, provider, apiKey, vault);
  deps.audit.record(request, access, {
    action: "provider_key.put",
    target: `provider:${provider}`,
    provider,
    details: { keyVersion: saved.keyVersion },
  });
  return jsonResponse({ accountId: access.accountId, ...saved });
}

/** `DELETE /providers/:name/key`: the account goes back to the platform's key. */
async function deleteProviderKey(
  deps: ProviderRoutesDeps,
  request: RequestContext,
): Promise<Response> {
  const keys = requireDb(deps.keys);
  const { access, provider } = await keyTarget(deps, request);
  if (!await keys.delete(access.accountId, provider)) {
    throw new HttpError(404, "NOT_FOUND", `The account has no key for ${provider}`);
  }
  deps.audit.record(request, access, {
    action: "provider_key.delete",
    target: `provider:${provider}`,
    provider,
  });
  return jsonResponse({ accountId: access.accountId, provider, deleted: true });
}
