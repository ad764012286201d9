-- Price ceilings in USD per million tokens: a model whose dearest token
-- (input, output or cache write) costs more is never tried for the account
-- or agent, not even as a fallback. Null: no ceiling of its own. The
-- deployment's LLM_MAX_PRICE_PER_MTOK and these combine; the tightest wins.

-- The account's ceiling, on its account-wide budget row (agent_id is null),
-- set with PUT /budgets. Agents' ceilings live with their preferences.
alter table public.llm_budgets
  add column if not exists max_price_per_mtok numeric(12, 6)
    check (max_price_per_mtok >= 0);

-- An agent's ceiling, set with PUT /agents/:agentId/preferences.
alter table public.agent_llm_preferences
  add column if not exists max_price_per_mtok numeric(12, 6)
    check (max_price_per_mtok >= 0);
