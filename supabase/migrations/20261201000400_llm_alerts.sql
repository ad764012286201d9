-- Spend and health alerts that reach a person: webhook destinations of an
-- account (set by its admins) or of the whole deployment (account_id null,
-- set with a server key), and their deliveries.
--
-- A delivery is an llm_jobs row of kind 'alert.webhook' (payload: the
-- webhook's id and the event), so it is woken by the llm_jobs insert trigger,
-- retried with backoff by /jobs/sweep and leased like any other job. The
-- webhook's URL (a Slack URL's path is its secret) and signing secret stay in
-- this table, which signed-in users cannot read those columns of.

create table if not exists public.llm_alert_webhooks (
  id uuid primary key default gen_random_uuid(),
  -- Null: the deployment's own, which hears every account's events.
  account_id uuid,
  url text not null check (length(url) between 1 and 2048),
  -- What may be shown and logged: scheme, host and port, never the path.
  url_hint text not null check (length(url_hint) between 1 and 300),
  format text not null check (format in ('slack', 'json')),
  events text[] not null check (
    cardinality(events) between 1 and 4
    and events <@ array['budget.threshold', 'budget.exhausted', 'circuit.opened', 'circuit.closed']::text[]
  ),
  -- HMAC-SHA256 key of the x-llm-signature header; null: deliveries are not signed.
  secret text check (secret is null or length(secret) between 16 and 256),
  created_by uuid,
  created_at timestamptz not null default now()
);
create index if not exists llm_alert_webhooks_account_idx on public.llm_alert_webhooks (account_id);

-- One delivery per webhook and event, whoever (which isolate, which retry of
-- the enqueue) reports the event: an event's id is fixed by what happened
-- (a budget window's threshold, one circuit transition).
create unique index if not exists llm_jobs_alert_event_idx
  on public.llm_jobs ((payload ->> 'webhookId'), (payload -> 'event' ->> 'id'))
  where kind = 'alert.webhook';
-- GET /alerts/deliveries of the deployment (account_id null), newest first.
create index if not exists llm_jobs_alert_recent_idx
  on public.llm_jobs (created_at desc)
  where kind = 'alert.webhook';

alter table public.llm_alert_webhooks enable row level security;
revoke all on public.llm_alert_webhooks from anon, authenticated;
grant all on public.llm_alert_webhooks to service_role;
-- Admins see their account's destinations, never a URL's path or a secret.
grant select (id, account_id, url_hint, format, events, created_by, created_at)
  on public.llm_alert_webhooks to authenticated;

drop policy if exists llm_alert_webhooks_read on public.llm_alert_webhooks;
create policy llm_alert_webhooks_read on public.llm_alert_webhooks
  for select to authenticated using (public.llm_is_account_admin(account_id));
