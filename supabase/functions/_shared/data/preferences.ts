/**
 * Routing preferences from the database, cached in the state store: per-agent
 * preferences and price ceilings (agent_llm_preferences), each account's own
 * routing entries and the global defaults (llm_providers). Every write through the API
 * invalidates the cached entries it affects, so the next request sees it.
 */
import type { UseCase } from "../llm/catalog.ts";
import type { AgentCeilingSource } from "../guards/account-settings.ts";
import type { AgentPreference, PreferenceSource } from "../llm/routing.ts";
import type { Db } from "../store/db.ts";
import { cached, type StateStore } from "../store/state-store.ts";
import { isUuid } from "./ids.ts";

/** A stored agent preference. */
export interface AgentPreferenceRecord {
  agentId: string;
  accountId: string;
  provider: string;
  model: string;
  params: { temperature?: number; maxTokens?: number; topP?: number };
  embeddingModel: string | null;
  fallbacks: string[];
  /** USD per million tokens: no model priced above it serves the agent. Null: no ceiling of its own. */
  maxPricePerMTok: number | null;
  ownerUserId: string | null;
  updatedAt: string;
}

type Routes = Record<string, string[]>;

/** The database-backed `PreferenceSource`, with the writes the preferences API makes. */
export class PreferenceRepository implements PreferenceSource, AgentCeilingSource {
  constructor(
    private readonly db: Db,
    private readonly store: StateStore,
    private readonly ttlMs: number,
  ) {}

  async agentPreference(
    agentId: string,
    accountId: string | undefined,
  ): Promise<AgentPreference | undefined> {
    if (!isUuid(accountId)) return undefined;
    const record = await this.getAgent(accountId, agentId);
    if (!record) return undefined;
    return {
      model: record.model,
      fallbacks: record.fallbacks,
      params: record.params,
    };
  }

  /** The agent's own price ceiling, from its cached preference. */
  async agentPriceCeiling(accountId: string, agentId: string): Promise<number | undefined> {
    if (!isUuid(accountId)) return undefined;
    return (await this.getAgent(accountId, agentId))?.maxPricePerMTok ?? undefined;
  }

  async accountRoute(accountId: string, useCase: UseCase): Promise<string[] | undefined> {
    if (!isUuid(accountId)) return undefined;
    const routes = await cached(
      this.store,
      `prefs:routes:${accountId}`,
      this.ttlMs,
      () => this.#routes(accountId),
    );
    return routes[useCase];
  }

  async useCaseChain(useCase: UseCase): Promise<string[] | undefined> {
    const routes = await cached(
      this.store,
      "prefs:routes:global",
      this.ttlMs,
      () => this.#routes(undefined),
    );
    return routes[useCase];
  }

  /** The stored preference of `agentId` in `accountId`, if any. */
  getAgent(accountId: string, agentId: string): Promise<AgentPreferenceRecord | undefined> {
    return cached(this.store, agentKey(accountId, agentId), this.ttlMs, async () => {
      const rows = await this.db.query<RowOf>(
        `select ${PREFERENCE_COLUMNS}
           from agent_llm_preferences where account_id = $1 and agent_id = $2`,
        [accountId, agentId],
      );
      return rows[0] ? fromRow(rows[0]) : undefined;
    });
  }

  /**
   * The account's stored agent preferences, by agent id, at most `limit`
   * (straight from the database: a list is for a console, not the hot path).
   */
  async listAgents(accountId: string, limit: number): Promise<AgentPreferenceRecord[]> {
    const rows = await this.db.query<RowOf>(
      `select ${PREFERENCE_COLUMNS}
         from agent_llm_preferences where account_id = $1 order by agent_id limit $2`,
      [accountId, limit],
    );
    return rows.map(fromRow);
  }

  /**
   * Creates or replaces a preference. The owner is set by the write that
   * creates the row and never changed by a later one. With `writableBy` (a
   * member's user id) an existing row is replaced only when that user owns
   * it: checked in the statement itself, so a row created or taken over
   * between the caller's check and this write is never overwritten.
   * Undefined when the row was left alone for that reason. A
   * `maxPricePerMTok` left undefined keeps the stored ceiling (null removes
   * it): a cap on spend is never lifted by a write that did not mention it.
   */
  async putAgent(
    record:
      & Omit<AgentPreferenceRecord, "updatedAt" | "maxPricePerMTok">
      & { maxPricePerMTok?: number | null },
    writableBy?: string,
  ): Promise<AgentPreferenceRecord | undefined> {
    const rows = await this.db.query<RowOf>(
      `insert into agent_llm_preferences (agent_id, account_id, provider, model, params, embedding_model, fallbacks, owner_user_id, max_price_per_mtok)
       values ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $10)
       on conflict (account_id, agent_id) do update set
         provider = excluded.provider, model = excluded.model, params = excluded.params,
         embedding_model = excluded.embedding_model, fallbacks = excluded.fallbacks,
         max_price_per_mtok = case when $11::boolean then agent_llm_preferences.max_price_per_mtok
           else excluded.max_price_per_mtok end
       where $9::uuid is null or agent_llm_preferences.owner_user_id = $9::uuid
       returning ${PREFERENCE_COLUMNS}`,
      [
        record.agentId,
        record.accountId,
        record.provider,
        record.model,
        JSON.stringify(record.params),
        record.embeddingModel,
        record.fallbacks,
        record.ownerUserId,
        writableBy ?? null,
        record.maxPricePerMTok ?? null,
        record.maxPricePerMTok === undefined,
      ],
    );
    await this.store.delete(agentKey(record.accountId, record.agentId));
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /**
   * Deletes a preference; true when one was deleted. With `writableBy` only
   * a row that user owns is deleted (as in `putAgent`).
   */
  async deleteAgent(accountId: string, agentId: string, writableBy?: string): Promise<boolean> {
    const rows = await this.db.query(
      `delete from agent_llm_preferences
         where account_id = $1 and agent_id = $2 and ($3::uuid is null or owner_user_id = $3::uuid)
         returning agent_id`,
      [accountId, agentId, writableBy ?? null],
    );
    await this.store.delete(agentKey(accountId, agentId));
    return rows.length > 0;
  }

  /** Forgets cached routing entries of an account (or the global ones). */
  invalidateRoutes(accountId: string | undefined): Promise<void> {
    return this.store.delete(`prefs:routes:${accountId ?? "global"}`);
  }

  async #routes(accountId: string | undefined): Promise<Routes> {
    const rows = await this.db.query<{ model: string; use_case: string[] }>(
      `select model, use_case from llm_providers
         where is_active and ${accountId ? "account_id = $1" : "account_id is null"}
         order by is_default desc, priority, name`,
      accountId ? [accountId] : [],
    );
    const routes: Routes = {};
    for (const row of rows) {
      for (const useCase of row.use_case) (routes[useCase] ??= []).push(row.model);
    }
    return routes;
  }
}

const PREFERENCE_COLUMNS =
  "agent_id, account_id, provider, model, params, embedding_model, fallbacks, max_price_per_mtok, owner_user_id, updated_at";

interface RowOf extends Record<string, unknown> {
  agent_id: string;
  account_id: string;
  provider: string;
  model: string;
  params: AgentPreferenceRecord["params"];
  embedding_model: string | null;
  fallbacks: string[];
  max_price_per_mtok: string | number | null;
  owner_user_id: string | null;
  updated_at: Date | string;
}

function fromRow(row: RowOf): AgentPreferenceRecord {
  return {
    agentId: row.agent_id,
    accountId: row.account_id,
    provider: row.provider,
    model: row.model,
    params: row.params ?? {},
    embeddingModel: row.embedding_model,
    fallbacks: row.fallbacks ?? [],
    maxPricePerMTok: row.max_price_per_mtok == null ? null : Number(row.max_price_per_mtok),
    ownerUserId: row.owner_user_id,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function agentKey(accountId: string, agentId: string): string {
  return `prefs:agent:${accountId}:${agentId}`;
}
