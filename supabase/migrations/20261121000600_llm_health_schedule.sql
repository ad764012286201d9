-- Scheduled provider checks.
--
-- Where pg_cron and pg_net exist, llm-health's POST /check runs every five
-- minutes, so the shared provider health is fresh even when nobody asks and
-- a failing provider shows in its results (and logs) within five minutes.
-- Without those extensions the migration still applies and checks run when
-- GET /providers finds its results stale.
--
-- Vault secrets read (the same ones the job triggers use):
--   llm_router_url  e.g. https://<ref>.supabase.co/functions/v1/llm-router;
--                   the health URL is this with the trailing llm-router
--                   replaced by llm-health
--   llm_job_secret  the same value as the functions' LLM_JOB_SECRET
--   llm_health_url  optional: llm-health's URL when it is not next to
--                   llm-router (a proxy in front of one of them)

-- POSTs to llm-health's /check through pg_net; does nothing when pg_net, Vault or the secrets are missing.
create or replace function public.llm_health_call()
returns void language plpgsql security definer set search_path = public as $$
declare
  router_url text;
  health_url text;
  job_secret text;
begin
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'net' and p.proname = 'http_post'
  ) or to_regclass('vault.decrypted_secrets') is null then
    return;
  end if;
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into health_url using 'llm_health_url';
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into router_url using 'llm_router_url';
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into job_secret using 'llm_job_secret';
  if health_url is null and rtrim(router_url, '/') ~ '/llm-router$' then
    health_url := regexp_replace(rtrim(router_url, '/'), '/llm-router$', '/llm-health');
  end if;
  if health_url is null or job_secret is null then
    return;
  end if;
  execute 'select net.http_post(url := $1, body := $2, headers := $3)'
    using rtrim(health_url, '/') || '/check',
          '{}'::jsonb,
          jsonb_build_object('content-type', 'application/json', 'x-job-secret', job_secret);
end
$$;

revoke all on function public.llm_health_call() from public, anon, authenticated;

-- The check, every five minutes, where pg_cron and pg_net are installed.
do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'cron')
    and exists (
      select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'net' and p.proname = 'http_post'
    )
  then
    perform cron.unschedule(jobid) from cron.job where jobname = 'llm-health-check';
    perform cron.schedule('llm-health-check', '*/5 * * * *', $job$ select public.llm_health_call() $job$);
  end if;
end
$$;
