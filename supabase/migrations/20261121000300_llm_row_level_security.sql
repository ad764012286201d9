-- Row-level security: a signed-in user reads only their own account's rows and
-- never a key column; every write goes through the functions with the service role.

-- The account in the caller's JWT (app_metadata.account_id), if it is a uuid.
create or replace function public.llm_claims_account_id() returns uuid
language sql stable as $$
  select case
    when (auth.jwt() -> 'app_metadata' ->> 'account_id') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then (auth.jwt() -> 'app_metadata' ->> 'account_id')::uuid
  end
$$;

-- Every account the caller belongs to: from the JWT, or from the membership table.
-- security definer: reading memberships must not itself be subject to the policies below.
create or replace function public.llm_account_ids() returns setof uuid
language sql stable security definer set search_path = public, auth as $$
  select public.llm_claims_account_id() where public.llm_claims_account_id() is not null
  union
  select m.account_id from public.llm_account_members m where m.user_id = auth.uid()
$$;

-- Whether the caller administers `target`: owner/admin by JWT role or by membership.
create or replace function public.llm_is_account_admin(target uuid) returns boolean
language sql stable security definer set search_path = public, auth as $$
  select (
    public.llm_claims_account_id() = target
    and coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') in ('owner', 'admin')
  ) or exists (
    select 1 from public.llm_account_members m
    where m.account_id = target and m.user_id = auth.uid() and m.role in ('owner', 'admin')
  )
$$;

grant execute on function public.llm_claims_account_id() to anon, authenticated, service_role;
grant execute on function public.llm_account_ids() to anon, authenticated, service_role;
grant execute on function public.llm_is_account_admin(uuid) to anon, authenticated, service_role;

do $$
declare
  t text;
begin
  foreach t in array array[
    'llm_account_members', 'llm_providers', 'llm_provider_keys', 'agent_llm_preferences',
    'llm_usage', 'llm_budgets', 'llm_audit_log', 'llm_jobs'
  ]
  loop
    execute format('alter table public.%I enable row level security', t);
    -- Supabase grants every new public table to anon and authenticated by default: take it back.
    execute format('revoke all on public.%I from anon, authenticated', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
end
$$;

grant usage on schema public to anon, authenticated, service_role;
grant usage, select on all sequences in schema public to service_role;

-- Reads for signed-in users, each limited by a policy below.
grant select on public.llm_account_members, public.llm_providers, public.agent_llm_preferences,
  public.llm_usage, public.llm_budgets, public.llm_audit_log, public.llm_jobs to authenticated;
-- Keys: the hint and version are readable, the ciphertext never is.
grant select (account_id, provider, key_version, key_hint, created_at, updated_at)
  on public.llm_provider_keys to authenticated;

drop policy if exists llm_account_members_read on public.llm_account_members;
create policy llm_account_members_read on public.llm_account_members
  for select to authenticated using (user_id = auth.uid());

drop policy if exists llm_providers_read on public.llm_providers;
create policy llm_providers_read on public.llm_providers
  for select to authenticated
  using (account_id is null or account_id in (select public.llm_account_ids()));

drop policy if exists llm_provider_keys_read on public.llm_provider_keys;
create policy llm_provider_keys_read on public.llm_provider_keys
  for select to authenticated using (account_id in (select public.llm_account_ids()));

drop policy if exists agent_llm_preferences_read on public.agent_llm_preferences;
create policy agent_llm_preferences_read on public.agent_llm_preferences
  for select to authenticated using (account_id in (select public.llm_account_ids()));

drop policy if exists llm_usage_read on public.llm_usage;
create policy llm_usage_read on public.llm_usage
  for select to authenticated using (account_id in (select public.llm_account_ids()));

drop policy if exists llm_budgets_read on public.llm_budgets;
create policy llm_budgets_read on public.llm_budgets
  for select to authenticated using (account_id in (select public.llm_account_ids()));

drop policy if exists llm_audit_log_read on public.llm_audit_log;
create policy llm_audit_log_read on public.llm_audit_log
  for select to authenticated using (public.llm_is_account_admin(account_id));

drop policy if exists llm_jobs_read on public.llm_jobs;
create policy llm_jobs_read on public.llm_jobs
  for select to authenticated using (account_id in (select public.llm_account_ids()));
