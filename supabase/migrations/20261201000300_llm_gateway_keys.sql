-- Gateway keys: per-account API keys (`llmk_…`) for server code and third-party
-- tools, made by the account's admins through llm-router's POST /keys. Only the
-- SHA-256 of a key is stored; the key itself is shown once and never again.
-- A key is revoked, never deleted, so usage and audit rows keep naming it.
create table if not exists public.llm_gateway_keys (
  id uuid primary key default gen_random_uuid(),
  account_id uuid not null,
  name text not null check (length(name) between 1 and 100),
  -- `llmk_` and the next characters of the key: enough to tell keys apart, not to use one.
  prefix text not null check (length(prefix) between 5 and 16),
  key_hash text not null check (key_hash ~ '^[0-9a-f]{64}$'),
  -- Null: any model / use case.
  allowed_models text[],
  allowed_use_cases text[],
  -- The key's own budget and bucket, on top of its account's; null: none of its own.
  daily_limit_usd numeric(14, 4) check (daily_limit_usd >= 0),
  monthly_limit_usd numeric(14, 4) check (monthly_limit_usd >= 0),
  alert_threshold numeric(4, 3) not null default 0.8 check (alert_threshold > 0 and alert_threshold <= 1),
  time_zone text not null default 'UTC',
  requests_per_second numeric(12, 4) check (requests_per_second > 0),
  burst integer check (burst > 0),
  created_by uuid,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  check ((requests_per_second is null) = (burst is null))
);
create unique index if not exists llm_gateway_keys_hash_key on public.llm_gateway_keys (key_hash);
create index if not exists llm_gateway_keys_account_idx
  on public.llm_gateway_keys (account_id, created_at desc);

-- Which key made a request or a change (null: a user token, the service key or a job).
alter table public.llm_usage add column if not exists key_id uuid;
alter table public.llm_audit_log add column if not exists key_id uuid;
-- A key's budget window starts from the spend llm_usage recorded for it, read from an index alone.
create index if not exists llm_usage_key_spend_idx
  on public.llm_usage (key_id, created_at desc) include (cost_usd) where key_id is not null;

-- Row-level security: members read their account's keys' names, prefixes and limits, never a hash;
-- every write goes through llm-router with the service role.
alter table public.llm_gateway_keys enable row level security;
revoke all on public.llm_gateway_keys from anon, authenticated;
grant all on public.llm_gateway_keys to service_role;
grant select (id, account_id, name, prefix, allowed_models, allowed_use_cases, daily_limit_usd,
  monthly_limit_usd, alert_threshold, time_zone, requests_per_second, burst, created_by, created_at,
  expires_at, revoked_at, last_used_at)
  on public.llm_gateway_keys to authenticated;

drop policy if exists llm_gateway_keys_read on public.llm_gateway_keys;
create policy llm_gateway_keys_read on public.llm_gateway_keys
  for select to authenticated using (account_id in (select public.llm_account_ids()));
