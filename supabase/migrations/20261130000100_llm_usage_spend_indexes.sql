-- A budget window's ledger starts from the spend llm_usage recorded in it (a fresh
-- isolate, or a new day): sum(cost_usd) over an account's (or agent's) rows in a time
-- range. Carrying cost_usd in the index lets Postgres answer that from the index alone
-- (an index-only scan once autovacuum has marked the pages), instead of visiting every
-- row of a busy account's day. These replace the two plain time indexes of the same keys.
create index if not exists llm_usage_account_spend_idx
  on public.llm_usage (account_id, created_at desc) include (cost_usd);
create index if not exists llm_usage_account_agent_spend_idx
  on public.llm_usage (account_id, agent_id, created_at desc) include (cost_usd);
drop index if exists public.llm_usage_account_time_idx;
drop index if exists public.llm_usage_account_agent_time_idx;
