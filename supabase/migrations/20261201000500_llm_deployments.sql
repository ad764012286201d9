-- Weighted deployments (LLM_DEPLOYMENTS): a model served from several places
-- (two keys of one provider, the provider and a mirror) records which of them
-- served each request. The deployments themselves are configuration, not rows:
-- they reference keys by env name, and change with a deploy, not at runtime.
-- Null: the model had no deployments (it was served by its provider).
alter table public.llm_usage
  add column if not exists deployment text
    check (deployment is null or length(deployment) between 1 and 64);
