/**
 * `GET /agents` and `GET/PUT/DELETE /agents/:agentId/preferences`: what a
 * per-agent model picker calls, the agent's price ceiling included. Writes
 * are validated against the catalog, the account's keys and the ceiling,
 * invalidate the cache (the next request routes by them) and are audited. Members manage the agents they created; admins manage all,
 * including agents set up by server code (which have no owner).
 */
import { z } from "zod";
import { clipInput, HttpError, jsonResponse, validationError } from "../_shared/http/errors.ts";
import type { AgentPreferenceRecord, PreferenceRepository } from "../_shared/data/preferences.ts";
import type { AccountAccess } from "../_shared/http/callers.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import type { ModelCatalog } from "../_shared/llm/catalog.ts";
import { overCeiling } from "../_shared/llm/price-ceiling.ts";
import type { RequestContext } from "./context.ts";
import type { AccountRouters } from "./account-routers.ts";
import type { ChangeAudit } from "./change-audit.ts";
import { accountOf } from "./account-of.ts";
import { requireDb } from "./needs-database.ts";
import type { Route } from "./routes.ts";

const preferenceBody = z.strictObject({
  model: z.string().min(1).max(200),
  provider: z.string().min(1).max(64).optional(),
  params: z.strictObject({
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.int().min(1).max(1_000_000).optional(),
    topP: z.number().gt(0).max(1).optional(),
  }).optional(),
  fallbacks: z.array(z.string().min(1).max(200)).max(10).optional(),
  embeddingModel: z.string().min(1).max(200).nullable().optional(),
  /** USD per million tokens (`llm/price-ceiling.ts`); absent keeps the stored one, null removes it. */
  maxPricePerMTok: z.number().min(0).max(1_000_000).nullable().optional(),
});

/** Most agents `GET /agents` lists. */
const MAX_LISTED_AGENTS = 1_000;

/** What the preference routes use. */
export interface PreferencesRoutesDeps {
  /** Absent without a database (the routes answer 503). */
  preferences?: PreferenceRepository;
  /** The catalog and keys a write is checked against; the chain a read shows. */
  routers: AccountRouters;
  audit: ChangeAudit;
}

/** `GET /agents` and `GET/PUT/DELETE /agents/:agentId/preferences`. */
export function preferencesRoutes(deps: PreferencesRoutesDeps): Route[] {
  const path = "/agents/:agentId/preferences";
  return [
    { method: "GET", pattern: "/agents", handler: (r) => listAgents(deps, r) },
    { method: "GET", pattern: path, handler: (r) => getAgentPreferences(deps, r) },
    { method: "PUT", pattern: path, handler: (r) => putAgentPreferences(deps, r) },
    { method: "DELETE", pattern: path, handler: (r) => deleteAgentPreferences(deps, r) },
  ];
}

/**
 * Who may write an agent's preference: admins (owners, admins, the service
 * role) any of the account's agents; a member only a new agent or one they
 * own. An ownerless agent (set up by server code) is admin-only, never up
 * for grabs.
 */
function writable(
  request: RequestContext,
  access: AccountAccess,
  existing: AgentPreferenceRecord | undefined,
): boolean {
  if (access.role !== "member") return true;
  const userId = request.caller.userId;
  return userId !== undefined && (!existing || existing.ownerUserId === userId);
}

/**
 * Throws 403 unless the caller may write (`writable`). Returns the member's
 * user id, for the repository to enforce the same rule in its statement
 * (undefined for admins).
 */
function mayWrite(
  request: RequestContext,
  access: AccountAccess,
  existing: AgentPreferenceRecord | undefined,
): string | undefined {
  if (!writable(request, access, existing)) throw notYours(existing);
  return access.role === "member" ? request.caller.userId : undefined;
}

function notYours(existing: AgentPreferenceRecord | undefined): HttpError {
  return new HttpError(
    403,
    "FORBIDDEN",
    existing?.ownerUserId === null
      ? "Only the account's admins may change an agent set up by server code"
      : "Only the account's admins may change another user's agent",
  );
}

/**
 * `GET /agents`: every agent of the account with stored preferences, each
 * marked `writable` by the rule a write is held to, so a member sees the
 * account's agents and may edit only their own.
 */
async function listAgents(
  deps: PreferencesRoutesDeps,
  request: RequestContext,
): Promise<Response> {
  const preferences = requireDb(deps.preferences);
  const access = await accountOf(request);
  const records = await preferences.listAgents(access.accountId, MAX_LISTED_AGENTS + 1);
  return jsonResponse({
    accountId: access.accountId,
    agents: records.slice(0, MAX_LISTED_AGENTS).map((record) => ({
      agentId: record.agentId,
      model: record.model,
      provider: record.provider,
      params: record.params,
      fallbacks: record.fallbacks,
      embeddingModel: record.embeddingModel,
      maxPricePerMTok: record.maxPricePerMTok,
      ownerUserId: record.ownerUserId,
      updatedAt: record.updatedAt,
      writable: writable(request, access, record),
    })),
    truncated: records.length > MAX_LISTED_AGENTS,
  });
}

/** `GET /agents/:agentId/preferences`: the stored preference and the chain it routes to. */
async function getAgentPreferences(
  deps: PreferencesRoutesDeps,
  request: RequestContext,
): Promise<Response> {
  const preferences = requireDb(deps.preferences);
  const access = await accountOf(request);
  const agentId = request.params.agentId;
  const stored = await preferences.getAgent(access.accountId, agentId);
  const candidates = await deps.routers.platform.candidates({
    agentId,
    accountId: access.accountId,
  });
  return jsonResponse({
    agentId,
    accountId: access.accountId,
    preference: stored ?? null,
    effective: {
      source: candidates.source,
      useCase: candidates.useCase,
      models: candidates.models,
    },
  });
}

/** `PUT /agents/:agentId/preferences`. */
async function putAgentPreferences(
  deps: PreferencesRoutesDeps,
  request: RequestContext,
): Promise<Response> {
  const preferences = requireDb(deps.preferences);
  const access = await accountOf(request);
  const agentId = request.params.agentId;
  const body = parseOrThrow(preferenceBody, request.body);
  const router = await deps.routers.forAccount(access.accountId);
  const catalog = router.catalog;

  const model = catalog.get(body.model);
  if (!model?.capabilities.chat) {
    throw validationError("model", `${clipInput(body.model)} is not a known chat model`);
  }
  if (body.provider !== undefined && body.provider !== model.provider) {
    throw validationError(
      "provider",
      `${clipInput(body.model)} is served by ${model.provider}, not ${clipInput(body.provider)}`,
    );
  }
  const keyed = new Set(router.availableProviders());
  if (!keyed.has(model.provider)) {
    throw validationError(
      "model",
      `no API key for ${model.provider}: set one with PUT /providers/${model.provider}/key`,
    );
  }
  if (body.params?.maxTokens !== undefined && body.params.maxTokens > model.maxOutputTokens) {
    throw validationError(
      "params.maxTokens",
      `${body.model} writes at most ${model.maxOutputTokens} tokens`,
    );
  }
  body.fallbacks?.forEach((id, index) => {
    if (!catalog.get(id)?.capabilities.chat) {
      throw validationError(`fallbacks[${index}]`, `${clipInput(id)} is not a known chat model`);
    }
  });
  if (body.embeddingModel && !catalog.get(body.embeddingModel)?.capabilities.embeddings) {
    throw validationError(
      "embeddingModel",
      `${clipInput(body.embeddingModel)} is not a known embedding model`,
    );
  }

  const existing = await preferences.getAgent(access.accountId, agentId);
  checkCeiling(
    catalog,
    [body.model, ...(body.fallbacks ?? [])],
    body.maxPricePerMTok === undefined ? existing?.maxPricePerMTok : body.maxPricePerMTok,
  );
  const writableBy = mayWrite(request, access, existing);
  // The owner is set when the row is created and kept by every later write,
  // so an admin's edit leaves a member's agent theirs and an ownerless one ownerless.
  const saved = await preferences.putAgent({
    agentId,
    accountId: access.accountId,
    provider: model.provider,
    model: model.id,
    params: body.params ?? {},
    embeddingModel: body.embeddingModel ?? null,
    fallbacks: body.fallbacks ?? [],
    maxPricePerMTok: body.maxPricePerMTok,
    ownerUserId: request.caller.userId ?? null,
  }, writableBy);
  // Only when another user took the agent between the check and the write.
  if (!saved) throw notYours(existing);
  deps.audit.record(request, access, {
    action: "agent_preferences.put",
    target: `agent:${agentId}`,
    model: model.id,
    details: { maxPricePerMTok: saved.maxPricePerMTok },
  });
  return jsonResponse({ agentId, accountId: access.accountId, preference: saved });
}

/**
 * A 400 when a model the preference names (`models`: the model, then the
 * fallbacks) is priced above the agent's own ceiling: it would never be tried.
 */
function checkCeiling(
  catalog: ModelCatalog,
  models: readonly string[],
  ceiling: number | null | undefined,
): void {
  models.forEach((id, index) => {
    const reason = overCeiling(catalog.get(id)!, ceiling ?? undefined);
    if (reason?.kind !== "over-price-ceiling") return;
    throw validationError(
      index === 0 ? "model" : `fallbacks[${index - 1}]`,
      `${
        clipInput(id)
      } costs up to $${reason.pricePerMTok} per million tokens, above the agent's maxPricePerMTok of $${reason.ceiling}`,
    );
  });
}

/** `DELETE /agents/:agentId/preferences`: the agent falls back to its account's routing. */
async function deleteAgentPreferences(
  deps: PreferencesRoutesDeps,
  request: RequestContext,
): Promise<Response> {
  const preferences = requireDb(deps.preferences);
  const access = await accountOf(request);
  const agentId = request.params.agentId;
  const writableBy = mayWrite(
    request,
    access,
    await preferences.getAgent(access.accountId, agentId),
  );
  if (!await preferences.deleteAgent(access.accountId, agentId, writableBy)) {
    throw new HttpError(
      404,
      "NOT_FOUND",
      `Agent ${clipInput(agentId)} has no stored preferences`,
    );
  }
  deps.audit.record(request, access, {
    action: "agent_preferences.delete",
    target: `agent:${agentId}`,
  });
  return jsonResponse({ agentId, accountId: access.accountId, deleted: true });
}
