-- Database-triggered background work.
--
-- Inserting into llm_jobs (directly, or from another table's trigger such as
-- the example below) queues work. Where pg_net and Vault exist, the insert
-- also wakes llm-router's /jobs/run at once; pg_cron, where it exists, calls
-- /jobs/sweep every minute for anything whose wake-up was lost. Without those
-- extensions the migration still applies and jobs wait for a sweep.
--
-- Vault secrets read (create them with vault.create_secret):
--   llm_router_url  e.g. https://<ref>.supabase.co/functions/v1/llm-router
--   llm_job_secret  the same value as the function's LLM_JOB_SECRET

-- POSTs to llm-router's /jobs/<action> through pg_net; does nothing when pg_net, Vault or the secrets are missing.
create or replace function public.llm_jobs_call(action text, body jsonb default '{}'::jsonb)
returns void language plpgsql security definer set search_path = public as $$
declare
  router_url text;
  job_secret text;
begin
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'net' and p.proname = 'http_post'
  ) or to_regclass('vault.decrypted_secrets') is null then
    return;
  end if;
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into router_url using 'llm_router_url';
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into job_secret using 'llm_job_secret';
  if router_url is null or job_secret is null then
    return;
  end if;
  execute 'select net.http_post(url := $1, body := $2, headers := $3)'
    using rtrim(router_url, '/') || '/jobs/' || action,
          body,
          jsonb_build_object('content-type', 'application/json', 'x-job-secret', job_secret);
end
$$;

revoke all on function public.llm_jobs_call(text, jsonb) from public, anon, authenticated;

create or replace function public.llm_jobs_notify() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  perform public.llm_jobs_call('run', jsonb_build_object('jobId', new.id));
  return new;
end
$$;

drop trigger if exists llm_jobs_notify on public.llm_jobs;
create trigger llm_jobs_notify after insert on public.llm_jobs
  for each row execute function public.llm_jobs_notify();

-- A job's payload is a llm-router native request; anything its own triggers
-- need back (here, the document to update) travels under "meta", which the
-- router ignores.
--
-- Example: documents that summarize themselves. Inserting a document queues a
-- summary job; when the job succeeds its text is written back to the row.
create table if not exists public.llm_example_documents (
  id uuid primary key default gen_random_uuid(),
  account_id uuid,
  title text not null,
  body text not null,
  summary text,
  summary_job_id uuid,
  created_at timestamptz not null default now()
);
alter table public.llm_example_documents enable row level security;
revoke all on public.llm_example_documents from anon, authenticated;
grant all on public.llm_example_documents to service_role;
grant select on public.llm_example_documents to authenticated;
drop policy if exists llm_example_documents_read on public.llm_example_documents;
create policy llm_example_documents_read on public.llm_example_documents
  for select to authenticated using (account_id in (select public.llm_account_ids()));

create or replace function public.llm_example_documents_queue_summary() returns trigger
language plpgsql security definer set search_path = public as $$
declare
  job uuid;
begin
  insert into public.llm_jobs (account_id, kind, payload)
  values (
    new.account_id,
    'summarize-document',
    jsonb_build_object(
      'useCase', 'summary',
      'systemPrompt', 'Summarize the document in two sentences.',
      'prompt', new.title || E'\n\n' || new.body,
      'maxTokens', 200,
      'meta', jsonb_build_object('document', new.id)
    )
  )
  returning id into job;
  update public.llm_example_documents set summary_job_id = job where id = new.id;
  return new;
end
$$;

drop trigger if exists llm_example_documents_queue_summary on public.llm_example_documents;
create trigger llm_example_documents_queue_summary after insert on public.llm_example_documents
  for each row execute function public.llm_example_documents_queue_summary();

create or replace function public.llm_example_documents_store_summary() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  if new.kind = 'summarize-document' and new.status = 'succeeded' and old.status is distinct from 'succeeded' then
    update public.llm_example_documents
      set summary = new.result ->> 'text'
      where id = (new.payload -> 'meta' ->> 'document')::uuid;
  end if;
  return new;
end
$$;

drop trigger if exists llm_example_documents_store_summary on public.llm_jobs;
create trigger llm_example_documents_store_summary after update of status on public.llm_jobs
  for each row execute function public.llm_example_documents_store_summary();

-- The sweep, every minute, where pg_cron and pg_net are installed.
do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'cron')
    and exists (
      select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'net' and p.proname = 'http_post'
    )
  then
    perform cron.unschedule(jobid) from cron.job where jobname = 'llm-jobs-sweep';
    perform cron.schedule('llm-jobs-sweep', '* * * * *', $job$ select public.llm_jobs_call('sweep') $job$);
  end if;
end
$$;
