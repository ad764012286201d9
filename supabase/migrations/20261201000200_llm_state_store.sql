-- The Postgres StateStore (LLM_STATE_STORE=postgres, or auto without Upstash):
-- rate limits, model ceilings, circuits, budget ledgers, metrics and caches
-- shared by every isolate through the project's own database.
--
-- One row per key. `value` holds what StateStore.set wrote (JSON text);
-- `fields` holds the hash an atomic operation keeps (string values, as Redis
-- keeps them). A row whose expires_at has passed is treated as absent by every
-- read and write, and llm_state_sweep() deletes it later (pg_cron, below).
--
-- Each atomic operation of the TypeScript code (AtomicOperation.sql) is a pure
-- function here, `llm_state_op_<name>(fields jsonb, args text[]) returns jsonb`,
-- answering `{"reply": [...], "fields": {...} | null, "ttl": ms}` as its memory
-- form (`apply`) answers: "fields" absent leaves the hash as it is, null deletes
-- the key, "ttl" sets a new time to live from now. llm_state_run() applies them
-- to the table, a step that writes with its key's row locked, so isolates never
-- interleave inside an operation: the same guarantee a Lua script has in Redis.
--
-- The table is UNLOGGED: thousands of tiny updates a second write no WAL (no
-- replication or backup volume, no WAL flush per request). After a database
-- crash it starts empty, like a Redis without persistence: buckets are full,
-- circuits closed, budget ledgers seed again from llm_usage, metrics restart.
-- No index but the key's, and room on each page, so updates stay HOT.

create unlogged table if not exists public.llm_state (
  key text primary key,
  value text,
  fields jsonb,
  -- null: never expires (a hash written without a time to live, as in Redis).
  expires_at timestamptz
) with (fillfactor = 70);

-- Only the gateway (the database owner or the service role) reads or writes it.
alter table public.llm_state enable row level security;
revoke all on public.llm_state from anon, authenticated;
grant all on public.llm_state to service_role;

-- A hash field as a number, or null when it is missing or not one (Number() in the memory form).
create or replace function public.llm_state_float(value text) returns double precision
language sql immutable parallel safe as $$
  select case when value ~ '^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'
    then value::double precision end
$$;

-- The same as an exact decimal: amounts that Redis adds with HINCRBY (budgets, counters).
create or replace function public.llm_state_numeric(value text) returns numeric
language sql immutable parallel safe as $$
  select case when value ~ '^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'
    then value::numeric end
$$;

-- Token bucket take (guards/token-bucket.ts TAKE_TOKENS); args: capacity, refill per second, now ms, cost.
create or replace function public.llm_state_op_take_tokens(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  capacity double precision := args[1]::double precision;
  rate double precision := args[2]::double precision / 1000;
  now_ms double precision := args[3]::double precision;
  cost double precision := args[4]::double precision;
  tokens double precision := public.llm_state_float(fields ->> 'tokens');
  at_ms double precision := public.llm_state_float(fields ->> 'at');
  allowed integer := 0;
  wait double precision := 0;
begin
  if tokens is null or at_ms is null then
    tokens := capacity;
    at_ms := now_ms;
  end if;
  -- A clock behind the last take (another isolate's) must not drain the bucket.
  if now_ms > at_ms then
    tokens := least(capacity, tokens + (now_ms - at_ms) * rate);
    at_ms := now_ms;
  end if;
  if tokens >= cost then
    tokens := tokens - cost;
    allowed := 1;
  else
    wait := ceil((cost - tokens) / rate);
  end if;
  return jsonb_build_object(
    'fields', jsonb_build_object('tokens', tokens::text, 'at', at_ms::text),
    'ttl', ceil(capacity / rate) + 1000,
    'reply', jsonb_build_array(allowed, wait, floor(tokens), ceil((capacity - tokens) / rate))
  );
end
$$;

-- Token bucket read (READ_TOKENS): the take's refill, computed, never written; args: capacity, refill per second, now ms.
create or replace function public.llm_state_op_read_tokens(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  capacity double precision := args[1]::double precision;
  rate double precision := args[2]::double precision / 1000;
  now_ms double precision := args[3]::double precision;
  tokens double precision := public.llm_state_float(fields ->> 'tokens');
  at_ms double precision := public.llm_state_float(fields ->> 'at');
  wait double precision := 0;
begin
  if tokens is null or at_ms is null then
    tokens := capacity;
  elsif now_ms > at_ms then
    tokens := least(capacity, tokens + (now_ms - at_ms) * rate);
  end if;
  if tokens < 1 then
    wait := ceil((1 - tokens) / rate);
  end if;
  return jsonb_build_object(
    'reply', jsonb_build_array(floor(tokens), wait, ceil((capacity - tokens) / rate))
  );
end
$$;

-- Per-minute counter (guards/window-counter.ts ADD_WITHIN_LIMIT); args: amount, limit, ttl ms.
-- An empty window admits one request even above the limit.
create or replace function public.llm_state_op_add_within_limit(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  amount numeric := args[1]::numeric;
  lim numeric := args[2]::numeric;
  used numeric := coalesce(public.llm_state_numeric(fields ->> 'used'), 0);
begin
  if used > 0 and used + amount > lim then
    return jsonb_build_object('reply', jsonb_build_array(0, used));
  end if;
  return jsonb_build_object(
    'fields', jsonb_build_object('used', (used + amount)::text),
    'ttl', args[3]::double precision,
    'reply', jsonb_build_array(1, used + amount)
  );
end
$$;

-- Circuit breaker step (guards/store-breakers.ts CIRCUIT_STEP, nextCircuit in llm/resilience.ts);
-- args: event (read|success|failure), now ms, failure threshold, open ms, half-open successes, ttl ms.
-- Replies state, failures and the state before the step (so only the step that changed it reports it).
-- Reads never write: an expired OPEN reads as HALF_OPEN, derived from the time.
create or replace function public.llm_state_op_circuit_step(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  event text := args[1];
  now_ms double precision := args[2]::double precision;
  threshold double precision := args[3]::double precision;
  open_ms double precision := args[4]::double precision;
  needed double precision := args[5]::double precision;
  state text := coalesce(fields ->> 'state', 'CLOSED');
  failures double precision := coalesce(public.llm_state_float(fields ->> 'failures'), 0);
  successes double precision := coalesce(public.llm_state_float(fields ->> 'successes'), 0);
  opened_at double precision := coalesce(public.llm_state_float(fields ->> 'openedAt'), 0);
  before text;
  reply jsonb;
begin
  if state = 'OPEN' and now_ms - opened_at >= open_ms then
    state := 'HALF_OPEN';
    failures := 0;
    successes := 0;
  end if;
  before := state;
  if event = 'success' then
    if state = 'HALF_OPEN' then
      successes := successes + 1;
      if successes >= needed then
        state := 'CLOSED';
        failures := 0;
        successes := 0;
        opened_at := 0;
      end if;
    elsif state = 'CLOSED' then
      failures := 0;
    end if;
  elsif event = 'failure' then
    if state = 'HALF_OPEN' then
      state := 'OPEN';
      failures := 0;
      successes := 0;
      opened_at := now_ms;
    elsif state = 'CLOSED' then
      failures := failures + 1;
      if failures >= threshold then
        state := 'OPEN';
        failures := 0;
        successes := 0;
        opened_at := now_ms;
      end if;
    end if;
  end if;
  reply := jsonb_build_array(
    case state when 'OPEN' then 1 when 'HALF_OPEN' then 2 else 0 end,
    failures,
    case before when 'OPEN' then 1 when 'HALF_OPEN' then 2 else 0 end
  );
  if event = 'read' then
    return jsonb_build_object('reply', reply);
  end if;
  if state = 'CLOSED' and failures = 0 then
    return jsonb_build_object('fields', null, 'reply', reply);
  end if;
  return jsonb_build_object(
    'fields', jsonb_build_object(
      'state', state,
      'failures', failures::text,
      'successes', successes::text,
      'openedAt', opened_at::text
    ),
    'ttl', args[6]::double precision,
    'reply', reply
  );
end
$$;

-- Circuit reset (CIRCUIT_RESET): the key goes; replies the circuit as a read found it; args: now ms, open ms.
create or replace function public.llm_state_op_circuit_reset(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  now_ms double precision := args[1]::double precision;
  open_ms double precision := args[2]::double precision;
  state text := coalesce(fields ->> 'state', 'CLOSED');
  failures double precision := coalesce(public.llm_state_float(fields ->> 'failures'), 0);
  opened_at double precision := coalesce(public.llm_state_float(fields ->> 'openedAt'), 0);
begin
  if state = 'OPEN' and now_ms - opened_at >= open_ms then
    state := 'HALF_OPEN';
    failures := 0;
  end if;
  return jsonb_build_object(
    'fields', null,
    'reply', jsonb_build_array(
      case state when 'OPEN' then 1 when 'HALF_OPEN' then 2 else 0 end,
      failures
    )
  );
end
$$;

-- Budget hold (guards/budget-ledger.ts RESERVE); args: amount, limit (nano-dollars).
-- Admitted while spent + reserved is below the limit; -1 while the ledger is unseeded.
create or replace function public.llm_state_op_budget_reserve(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  spent numeric := coalesce(public.llm_state_numeric(fields ->> 'spent'), 0);
  reserved numeric := coalesce(public.llm_state_numeric(fields ->> 'reserved'), 0);
begin
  if not coalesce(fields ? 'seeded', false) then
    return jsonb_build_object('reply', jsonb_build_array(-1, 0, 0));
  end if;
  if spent + reserved >= args[2]::numeric then
    return jsonb_build_object('reply', jsonb_build_array(0, spent, reserved));
  end if;
  reserved := reserved + args[1]::numeric;
  return jsonb_build_object(
    'fields', fields || jsonb_build_object('reserved', reserved::text),
    'reply', jsonb_build_array(1, spent, reserved)
  );
end
$$;

-- Budget seed (SEED): only the first seeder adds the spend already recorded; args: spend, ttl ms.
create or replace function public.llm_state_op_budget_seed(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  spent numeric := coalesce(public.llm_state_numeric(fields ->> 'spent'), 0);
  reserved numeric := coalesce(public.llm_state_numeric(fields ->> 'reserved'), 0);
begin
  if coalesce(fields ? 'seeded', false) then
    return jsonb_build_object('reply', jsonb_build_array(spent, reserved));
  end if;
  spent := spent + args[1]::numeric;
  return jsonb_build_object(
    'fields', coalesce(fields, '{}'::jsonb) || jsonb_build_object('seeded', '1', 'spent', spent::text),
    'ttl', args[2]::double precision,
    'reply', jsonb_build_array(spent, reserved)
  );
end
$$;

-- Budget settle (SETTLE): swaps a hold for the actual cost; a vanished ledger is not recreated;
-- args: amount held, actual cost.
create or replace function public.llm_state_op_budget_settle(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  spent numeric := coalesce(public.llm_state_numeric(fields ->> 'spent'), 0) + args[2]::numeric;
  reserved numeric :=
    greatest(0, coalesce(public.llm_state_numeric(fields ->> 'reserved'), 0) - args[1]::numeric);
begin
  if fields is null then
    return jsonb_build_object('reply', jsonb_build_array(-1, 0, 0));
  end if;
  return jsonb_build_object(
    'fields', fields || jsonb_build_object('reserved', reserved::text, 'spent', spent::text),
    'reply', jsonb_build_array(1, spent, reserved)
  );
end
$$;

-- Metrics: adds amounts to many fields at once (metrics/hash-ops.ts ADD_TO_FIELDS);
-- args: ttl ms, then field, amount, field, amount …
create or replace function public.llm_state_op_add_to_fields(fields jsonb, args text[]) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  added jsonb := coalesce(fields, '{}'::jsonb);
  i integer;
begin
  for i in 2 .. coalesce(array_length(args, 1), 0) - 1 by 2 loop
    added := added || jsonb_build_object(
      args[i],
      (coalesce(public.llm_state_numeric(added ->> args[i]), 0) + args[i + 1]::numeric)::text
    );
  end loop;
  return jsonb_build_object('fields', added, 'ttl', args[1]::double precision, 'reply', jsonb_build_array(1));
end
$$;

-- Metrics: every field of a hash, flat: field, value, field, value … (READ_FIELDS).
create or replace function public.llm_state_op_read_fields(fields jsonb, args text[]) returns jsonb
language sql immutable parallel safe as $$
  select jsonb_build_object('reply', coalesce(
    (select jsonb_agg(part order by f.key, x.n)
      from jsonb_each_text(coalesce(fields, '{}'::jsonb)) f
      cross join lateral (values (1, f.key), (2, f.value)) x(n, part)),
    '[]'::jsonb
  ))
$$;

-- One atomic operation on the hash at `target`: the row is locked (or, when there is none, created
-- only if nobody created it meanwhile), the step computed by `op`, and its answer written back.
create or replace function public.llm_state_apply(target text, op text, args text[]) returns jsonb
language plpgsql as $$
declare
  current_fields jsonb;
  current_expires timestamptz;
  exists_row boolean;
  live boolean;
  step jsonb;
  expires timestamptz;
begin
  -- The name comes from the gateway's code; still, only operation functions may be called.
  if op !~ '^llm_state_op_[a-z0-9_]+$' then
    raise exception 'not a state operation' using errcode = '22023';
  end if;
  -- Most steps of a healthy gateway only read (a circuit's state, a bucket's level, a ceiling that
  -- refuses): on the row as last committed, without a lock, such a step is already atomic. Only a
  -- step that writes is run again below, with the row locked.
  select s.fields, s.expires_at into current_fields, current_expires
    from public.llm_state s where s.key = target;
  live := found and (current_expires is null or current_expires > now());
  execute format('select public.%I($1, $2)', op) into step
    using case when live then current_fields end, args;
  if not (step ? 'fields' or step ? 'ttl') then
    return step -> 'reply';
  end if;
  for attempt in 1 .. 10 loop
    select s.fields, s.expires_at into current_fields, current_expires
      from public.llm_state s where s.key = target for update;
    exists_row := found;
    live := exists_row and (current_expires is null or current_expires > now());
    execute format('select public.%I($1, $2)', op) into step
      using case when live then current_fields end, args;
    if step ? 'fields' then
      if jsonb_typeof(step -> 'fields') = 'null' then
        if exists_row then
          delete from public.llm_state where key = target;
        end if;
      else
        expires := case
          when step ? 'ttl' then now() + (step ->> 'ttl')::double precision * interval '1 millisecond'
          when live then current_expires
        end;
        if exists_row then
          update public.llm_state set value = null, fields = step -> 'fields', expires_at = expires
            where key = target;
        else
          insert into public.llm_state (key, fields, expires_at)
            values (target, step -> 'fields', expires)
            on conflict (key) do nothing;
          -- Another isolate created the key meanwhile: run the step again on its row.
          continue when not found;
        end if;
      end if;
    elsif step ? 'ttl' and live and current_fields is not null then
      -- As PEXPIRE: a new time to live on a missing key creates nothing.
      update public.llm_state
        set expires_at = now() + (step ->> 'ttl')::double precision * interval '1 millisecond'
        where key = target;
    end if;
    return step -> 'reply';
  end loop;
  raise exception 'state key kept changing under the operation' using errcode = '40001';
end
$$;

-- A batch of store commands in one round trip, answered in order. Each command is
-- ["get", key] | ["set", key, json, ttl ms] | ["setnx", key, json, ttl ms] | ["del", key]
-- | ["run", key, operation function, [args]]. Commands run in key order (commands on one key
-- keep theirs), so two batches always lock their rows in the same order and never deadlock.
create or replace function public.llm_state_run(commands jsonb) returns jsonb
language plpgsql as $$
declare
  command record;
  target text;
  ttl double precision;
  replies jsonb[] := array_fill(null::jsonb, array[jsonb_array_length(commands)]);
begin
  for command in
    select c.value as c, c.ordinality as i
      from jsonb_array_elements(commands) with ordinality c
      order by (c.value ->> 1) collate "C", c.ordinality
  loop
    target := command.c ->> 1;
    case command.c ->> 0
      when 'run' then
        replies[command.i] := public.llm_state_apply(
          target,
          command.c ->> 2,
          array(select jsonb_array_elements_text(command.c -> 3))
        );
      when 'get' then
        replies[command.i] := (
          select to_jsonb(s.value) from public.llm_state s
            where s.key = target and (s.expires_at is null or s.expires_at > now())
        );
      when 'set' then
        ttl := (command.c ->> 3)::double precision;
        if ttl <= 0 then
          delete from public.llm_state where key = target;
        else
          insert into public.llm_state (key, value, fields, expires_at)
            values (target, command.c ->> 2, null, now() + ttl * interval '1 millisecond')
            on conflict (key) do update
              set value = excluded.value, fields = null, expires_at = excluded.expires_at;
        end if;
      when 'setnx' then
        ttl := greatest((command.c ->> 3)::double precision, 1);
        insert into public.llm_state (key, value, fields, expires_at)
          values (target, command.c ->> 2, null, now() + ttl * interval '1 millisecond')
          on conflict (key) do update
            set value = excluded.value, fields = null, expires_at = excluded.expires_at
            where public.llm_state.expires_at <= now();
        replies[command.i] := to_jsonb(found);
      when 'del' then
        delete from public.llm_state where key = target;
      else
        raise exception 'unknown state command' using errcode = '22023';
    end case;
  end loop;
  return to_jsonb(replies);
end
$$;

-- Deletes expired rows, at most `batch` at a time, skipping rows a request holds right now.
create or replace function public.llm_state_sweep(batch integer default 10000) returns integer
language plpgsql as $$
declare
  swept integer;
begin
  delete from public.llm_state where key in (
    select key from public.llm_state
      where expires_at <= now()
      limit batch
      for update skip locked
  );
  get diagnostics swept = row_count;
  return swept;
end
$$;

-- Supabase grants new functions to anon and authenticated through PostgREST: these are the
-- gateway's alone (a user calling llm_state_run could refill their own rate limit).
do $$
declare
  f text;
begin
  foreach f in array array[
    'public.llm_state_float(text)',
    'public.llm_state_numeric(text)',
    'public.llm_state_op_take_tokens(jsonb, text[])',
    'public.llm_state_op_read_tokens(jsonb, text[])',
    'public.llm_state_op_add_within_limit(jsonb, text[])',
    'public.llm_state_op_circuit_step(jsonb, text[])',
    'public.llm_state_op_circuit_reset(jsonb, text[])',
    'public.llm_state_op_budget_reserve(jsonb, text[])',
    'public.llm_state_op_budget_seed(jsonb, text[])',
    'public.llm_state_op_budget_settle(jsonb, text[])',
    'public.llm_state_op_add_to_fields(jsonb, text[])',
    'public.llm_state_op_read_fields(jsonb, text[])',
    'public.llm_state_apply(text, text, text[])',
    'public.llm_state_run(jsonb)',
    'public.llm_state_sweep(integer)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;

-- The sweep, every minute, where pg_cron is installed (it needs nothing else: no pg_net, no
-- function call). Without pg_cron, expired rows are still ignored; run
-- `select public.llm_state_sweep()` from any scheduler to reclaim their space.
do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'cron') then
    perform cron.unschedule(jobid) from cron.job where jobname = 'llm-state-sweep';
    perform cron.schedule('llm-state-sweep', '* * * * *', $job$ select public.llm_state_sweep() $job$);
  end if;
end
$$;
