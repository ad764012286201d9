/**
 * Choosing the ordered list of models to try for a request. Priority:
 * explicit override > agent preference > account-specific route > use-case
 * mapping (from the agent's tier when no use case is given) > default. The
 * chosen source's models come first; the use-case chain follows as fallbacks.
 */
import { type CatalogModel, structuredOutputOf, type UseCase } from "./catalog.ts";
import type { RouterConfig } from "./config.ts";
import type { Capability } from "./skip-reason.ts";
import type { LLMChatRequest } from "./types.ts";

/** What the caller says about where a request should go. */
export interface RouteInput {
  useCase?: UseCase;
  /** The agent's tier (strategy, writing, analytical …), used when no use case is given. */
  tier?: string;
  agentId?: string;
  accountId?: string;
  /** A catalog model id that must be tried first. */
  modelOverride?: string;
}

/** Per-agent model settings (stored per account; see the data layer). */
export interface AgentPreference {
  model: string;
  fallbacks?: string[];
  params?: { temperature?: number; maxTokens?: number; topP?: number };
}

/** Where routing preferences come from: static config now, the database later. */
export interface PreferenceSource {
  agentPreference(
    agentId: string,
    accountId: string | undefined,
  ): Promise<AgentPreference | undefined>;
  /** An account's own model chain for a use case, overriding the global mapping. */
  accountRoute(accountId: string, useCase: UseCase): Promise<string[] | undefined>;
  /** The global chain for a use case, when stored outside config (the database's defaults). */
  useCaseChain?(useCase: UseCase): Promise<string[] | undefined>;
}

/** Preferences held in memory: for tests and deployments without a database. */
export class StaticPreferences implements PreferenceSource {
  constructor(
    private readonly agents: Record<string, AgentPreference> = {},
    private readonly accounts: Record<string, Partial<Record<UseCase, string[]>>> = {},
  ) {}

  agentPreference(agentId: string): Promise<AgentPreference | undefined> {
    return Promise.resolve(this.agents[agentId]);
  }

  accountRoute(accountId: string, useCase: UseCase): Promise<string[] | undefined> {
    return Promise.resolve(this.accounts[accountId]?.[useCase]);
  }
}

/** Which rule chose the first model. */
export type RouteSource = "override" | "agent" | "account" | "use-case" | "default" | "cache";

/** The ordered candidates before filtering. */
export interface Candidates {
  models: string[];
  source: RouteSource;
  useCase: UseCase;
  /** Agent parameters to apply where the request leaves them unset. */
  params?: AgentPreference["params"];
}

/** The ordered model ids to consider for `input`. */
export async function candidateModels(
  input: RouteInput,
  config: RouterConfig,
  preferences: PreferenceSource | undefined,
): Promise<Candidates> {
  const tierUseCase = input.tier ? config.tierUseCases[input.tier] : undefined;
  const useCase = input.useCase ?? tierUseCase ?? config.defaultUseCase;
  const stored = await preferences?.useCaseChain?.(useCase);
  const chain = stored?.length
    ? stored
    : config.useCaseChains[useCase] ?? config.useCaseChains[config.defaultUseCase];
  const withChain = (first: string[]) => [...new Set([...first, ...chain])];

  if (input.modelOverride) {
    return {
      models: config.overrideFallback ? withChain([input.modelOverride]) : [input.modelOverride],
      source: "override",
      useCase,
    };
  }
  if (input.agentId && preferences) {
    const preference = await preferences.agentPreference(input.agentId, input.accountId);
    if (preference) {
      return {
        models: withChain([preference.model, ...(preference.fallbacks ?? [])]),
        source: "agent",
        useCase,
        params: preference.params,
      };
    }
  }
  if (input.accountId && preferences) {
    const route = await preferences.accountRoute(input.accountId, useCase);
    if (route?.length) return { models: withChain(route), source: "account", useCase };
  }
  return {
    models: [...chain],
    source: input.useCase || tierUseCase ? "use-case" : "default",
    useCase,
  };
}

/** Capabilities a request needs from a model. */
export interface Needs {
  vision: boolean;
  tools: boolean;
  /** `json_object`: any JSON object. */
  json: boolean;
  /** `json_schema`: a guaranteed schema (native or through a forced tool). */
  schema: boolean;
}

/** What `request` needs: images → vision, tools → tool use, a JSON format → json or a schema. */
export function needsOf(request: LLMChatRequest): Needs {
  return {
    vision: request.messages.some((m) =>
      m.role === "user" && Array.isArray(m.content) && m.content.some((p) => p.type === "image")
    ),
    tools: (request.tools?.length ?? 0) > 0,
    json: request.responseFormat?.type === "json_object",
    schema: request.responseFormat?.type === "json_schema",
  };
}

/** The first capability `model` lacks for `needs`, or undefined. */
export function missingCapability(model: CatalogModel, needs: Needs): Capability | undefined {
  if (!model.capabilities.chat) return "chat";
  if (needs.vision && !model.capabilities.vision) return "vision";
  if (needs.tools && !model.capabilities.tools) return "tools";
  if (needs.json && !model.capabilities.json) return "json";
  if (needs.schema && structuredOutputOf(model) === "none") return "structured-output";
  return undefined;
}
