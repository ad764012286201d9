-- Guardrails: per-account rate limits, and budget limits at cost precision.
-- Request rate limits per account: a token bucket (sustained requests per
-- second, burst) and optional per-model ceilings, e.g.
--   {"gpt-4o": {"rpm": 60, "tpm": 100000}}
-- An account without a row gets the deployment's defaults (LLM_RATE_LIMIT_RPS,
-- LLM_RATE_LIMIT_BURST). Enforced by llm-router in the StateStore.
create table if not exists public.llm_rate_limits (
  account_id uuid primary key,
  requests_per_second numeric(10, 3) not null default 10 check (requests_per_second > 0),
  burst integer not null default 50 check (burst >= 1),
  model_limits jsonb not null default '{}'::jsonb check (jsonb_typeof(model_limits) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

drop trigger if exists llm_rate_limits_touch on public.llm_rate_limits;
create trigger llm_rate_limits_touch before update on public.llm_rate_limits
  for each row execute function public.llm_touch_updated_at();

alter table public.llm_rate_limits enable row level security;
revoke all on public.llm_rate_limits from anon, authenticated;
grant all on public.llm_rate_limits to service_role;
grant select on public.llm_rate_limits to authenticated;

drop policy if exists llm_rate_limits_read on public.llm_rate_limits;
create policy llm_rate_limits_read on public.llm_rate_limits
  for select to authenticated using (account_id in (select public.llm_account_ids()));

-- Budget ledgers start from the window's recorded spend: keep that sum an index scan.
create index if not exists llm_usage_account_agent_time_idx
  on public.llm_usage (account_id, agent_id, created_at desc);

-- Budgets small enough for tests and trials (a tenth of a cent) must not round to zero.
alter table public.llm_budgets
  alter column daily_limit_usd type numeric(16, 8),
  alter column monthly_limit_usd type numeric(16, 8);
