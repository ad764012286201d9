-- The gateway's tables. Every statement can run again without harm.

-- Who belongs to which account, for users whose JWT does not carry app_metadata.account_id.
create table if not exists public.llm_account_members (
  account_id uuid not null,
  user_id uuid not null,
  role text not null default 'member' check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (account_id, user_id)
);
create index if not exists llm_account_members_user_idx on public.llm_account_members (user_id);

-- Routing entries: which provider/model serves which use cases, globally
-- (account_id null) or for one account (those override the global ones).
create table if not exists public.llm_providers (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 100),
  provider text not null,
  model text not null,
  account_id uuid,
  is_default boolean not null default false,
  use_case text[] not null default '{}',
  priority integer not null default 100,
  max_tokens integer check (max_tokens > 0),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists llm_providers_global_name_key
  on public.llm_providers (name) where account_id is null;
create unique index if not exists llm_providers_account_name_key
  on public.llm_providers (account_id, name) where account_id is not null;
create index if not exists llm_providers_routing_idx
  on public.llm_providers (account_id, is_active, priority);

-- Accounts' own provider keys (BYOK): AES-256-GCM ciphertext under a
-- versioned master key, bound to (account, provider). One key per account and
-- provider serves all of that account's routing entries for the provider.
create table if not exists public.llm_provider_keys (
  account_id uuid not null,
  provider text not null,
  ciphertext text not null,
  key_version text not null,
  key_hint text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (account_id, provider)
);
create index if not exists llm_provider_keys_version_idx on public.llm_provider_keys (key_version);

-- Per-agent model settings; an agent without a row falls back to its account's
-- routing, then to the global defaults.
create table if not exists public.agent_llm_preferences (
  id uuid primary key default gen_random_uuid(),
  agent_id text not null check (length(agent_id) between 1 and 200),
  account_id uuid not null,
  provider text not null,
  model text not null,
  params jsonb not null default '{}'::jsonb check (jsonb_typeof(params) = 'object'),
  embedding_model text,
  fallbacks text[] not null default '{}',
  owner_user_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (account_id, agent_id)
);

-- One row per request.
create table if not exists public.llm_usage (
  id bigint generated always as identity primary key,
  account_id uuid,
  agent_id text,
  user_id uuid,
  use_case text,
  provider text,
  model text,
  input_tokens integer not null default 0,
  output_tokens integer not null default 0,
  cached_input_tokens integer not null default 0,
  cache_write_tokens integer not null default 0,
  cost_usd numeric(16, 8) not null default 0,
  latency_ms integer,
  time_to_first_token_ms integer,
  status text not null check (status in ('ok', 'error', 'aborted')),
  error_code text,
  request_id text,
  streamed boolean not null default false,
  attempts integer not null default 1,
  fallback_index integer not null default 0,
  cached boolean not null default false,
  created_at timestamptz not null default now()
);
create index if not exists llm_usage_account_time_idx on public.llm_usage (account_id, created_at desc);
create index if not exists llm_usage_time_idx on public.llm_usage (created_at desc);

-- Spending limits per account (optionally per agent).
create table if not exists public.llm_budgets (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null,
  agent_id text,
  daily_limit_usd numeric(14, 4) check (daily_limit_usd >= 0),
  monthly_limit_usd numeric(14, 4) check (monthly_limit_usd >= 0),
  alert_threshold numeric(4, 3) not null default 0.8 check (alert_threshold > 0 and alert_threshold <= 1),
  time_zone text not null default 'UTC',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists llm_budgets_account_key on public.llm_budgets (account_id) where agent_id is null;
create unique index if not exists llm_budgets_agent_key on public.llm_budgets (account_id, agent_id) where agent_id is not null;

-- Who did what: requests and administrative changes. Never prompt text unless configured, never a key.
create table if not exists public.llm_audit_log (
  id bigint generated always as identity primary key,
  account_id uuid,
  actor_user_id uuid,
  actor_role text,
  action text not null,
  target text,
  provider text,
  model text,
  outcome text,
  request_id text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index if not exists llm_audit_log_account_time_idx on public.llm_audit_log (account_id, created_at desc);

-- Background work: inserted rows are run by llm-router's /jobs/run.
create table if not exists public.llm_jobs (
  id uuid primary key default gen_random_uuid(),
  account_id uuid,
  kind text not null default 'chat' check (length(kind) between 1 and 64),
  payload jsonb not null check (jsonb_typeof(payload) = 'object'),
  status text not null default 'pending' check (status in ('pending', 'running', 'succeeded', 'failed')),
  attempts integer not null default 0,
  max_attempts integer not null default 5 check (max_attempts between 1 and 50),
  run_after timestamptz not null default now(),
  lease_until timestamptz,
  locked_by text,
  result jsonb,
  error text,
  error_code text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index if not exists llm_jobs_due_idx on public.llm_jobs (run_after) where status = 'pending';
create index if not exists llm_jobs_lease_idx on public.llm_jobs (lease_until) where status = 'running';
create index if not exists llm_jobs_account_idx on public.llm_jobs (account_id, created_at desc);

-- updated_at follows every update.
create or replace function public.llm_touch_updated_at() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;

do $$
declare
  t text;
begin
  foreach t in array array['llm_providers', 'llm_provider_keys', 'agent_llm_preferences', 'llm_budgets', 'llm_jobs']
  loop
    execute format('drop trigger if exists %I on public.%I', t || '_touch', t);
    execute format(
      'create trigger %I before update on public.%I for each row execute function public.llm_touch_updated_at()',
      t || '_touch', t
    );
  end loop;
end
$$;
