/** What the deployment can serve and which agents the account has: what the chat panel offers. */
import type { ConsoleContext } from "./context.ts";

/** The models and use cases `GET llm-router/v1/models` offers. */
export interface Catalog {
  /** Concrete models, each with the provider that serves it. */
  models: { id: string; provider: string }[];
  /** Use cases the router routes by (`auto:<useCase>` entries). */
  useCases: string[];
}

/** An agent with stored preferences, as `GET llm-router/agents` lists it. */
export interface AgentRow {
  agentId: string;
  model: string;
  provider: string;
  params: { temperature?: number; maxTokens?: number; topP?: number };
  fallbacks: string[];
  embeddingModel: string | null;
  ownerUserId: string | null;
  updatedAt: string;
  /** Whether the caller may change it (members: only their own). */
  writable: boolean;
}

/** The deployment's models and use cases, from `listModels`. */
export async function loadCatalog(context: ConsoleContext): Promise<Catalog> {
  const models: Catalog["models"] = [];
  const useCases: string[] = [];
  for (const { id, owned_by } of await context.client.listModels()) {
    if (id.startsWith("auto:")) useCases.push(id.slice(5));
    else if (id !== "auto") models.push({ id, provider: owned_by });
  }
  return { models, useCases };
}

/** The account's agents with stored preferences. */
export async function listAgents(context: ConsoleContext): Promise<AgentRow[]> {
  const { agents } = await context.client.request<{ agents: AgentRow[] }>(
    "GET",
    "llm-router/agents",
  );
  return agents;
}
