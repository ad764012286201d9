-- Roles and auth helpers the gateway's policies rely on.
--
-- On Supabase these already exist (anon, authenticated, service_role; auth.uid(),
-- auth.jwt()) and every block below is a no-op. On a plain Postgres or PGlite
-- (local dev, CI) it creates stand-ins that behave the same way: the current
-- user's claims come from the `request.jwt.claims` setting, as PostgREST sets it.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

create schema if not exists auth;

do $$
begin
  if to_regprocedure('auth.jwt()') is null then
    execute $f$
      create function auth.jwt() returns jsonb language sql stable as $body$
        select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
      $body$
    $f$;
    execute 'grant usage on schema auth to anon, authenticated, service_role';
    execute 'grant execute on function auth.jwt() to anon, authenticated, service_role';
  end if;
  if to_regprocedure('auth.uid()') is null then
    execute $f$
      create function auth.uid() returns uuid language sql stable as $body$
        select case
          when (auth.jwt() ->> 'sub') ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
          then (auth.jwt() ->> 'sub')::uuid
        end
      $body$
    $f$;
    execute 'grant execute on function auth.uid() to anon, authenticated, service_role';
  end if;
end
$$;
