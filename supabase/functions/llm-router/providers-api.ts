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
import type { RouterRequestContext } from "./context.ts";
import { accountOf } from "./account-of.ts";
import { parseOrThrow } from "./validation.ts";
import { requireDb } from "./world.ts";
import { auditChange } from "./audit-change.ts";

const keyBody = z.strictObject({ apiKey: z.string() });

/** `GET /providers`: every provider, whether the platform or the account has a key, and its models. */
export async function listProviders(context: RouterRequestContext): Promise<Response> {
  const access = await context.access(context.query.get("accountId") ?? undefined);
  const router = await context.routerFor(access.accountId);
  const platform = new Set(context.world.router.availableProviders());
  const accountKeys = context.world.keys && isUuid(access.accountId)
    ? await context.world.keys.list(access.accountId)
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
  context: RouterRequestContext,
): Promise<{ access: AccountAccess & { accountId: string }; provider: string }> {
  const access = await accountOf(context);
  requireAdmin(access, "manage provider keys");
  const provider = context.params.name;
  if (!context.world.router.providers().some(({ spec }) => spec.name === provider)) {
    throw new HttpError(
      404,
      "NOT_FOUND",
      `Unknown provider ${clipInput(provider)}; GET /providers lists them`,
    );
  }
  return { access, provider };
}

/** `PUT /providers/:name/key`: stores the account's own key for a provider. */
export async function putProviderKey(context: RouterRequestContext): Promise<Response> {
  const keys = requireDb(context.world.keys);
  const { access, provider } = await keyTarget(context);
  const { apiKey } = parseOrThrow(keyBody, context.body);
  const problem = validateProviderKey(apiKey);
  if (problem) throw validationError("apiKey", problem);
  const vault = context.world.vault;
  if (typeof vault === "string") {
    throw new HttpError(503, "CONFIG_MISSING", `Provider keys cannot be stored: ${vault}`, {
      missing: ["LLM_KEY_ENCRYPTION_KEYS"],
    });
  }
  const saved = await keys.put(access.accountId, provider, apiKey, vault);
  auditChange(context, access, {
    action: "provider_key.put",
    target: `provider:${provider}`,
    provider,
    details: { keyVersion: saved.keyVersion },
  });
  return jsonResponse({ accountId: access.accountId, ...saved });
}

/** `DELETE /providers/:name/key`: the account goes back to the platform's key. */
export async function deleteProviderKey(context: RouterRequestContext): Promise<Response> {
  const keys = requireDb(context.world.keys);
  const { access, provider } = await keyTarget(context);
  if (!await keys.delete(access.accountId, provider)) {
    throw new HttpError(404, "NOT_FOUND", `The account has no key for ${provider}`);
  }
  auditChange(context, access, {
    action: "provider_key.delete",
    target: `provider:${provider}`,
    provider,
  });
  return jsonResponse({ accountId: access.accountId, provider, deleted: true });
}
