-- Reasoning tokens: the part of output_tokens a model spent thinking (OpenAI
-- reasoning_tokens, Anthropic thinking). Already inside output_tokens and
-- billed at the output price; kept apart so spend reports can show it.
alter table public.llm_usage
  add column if not exists reasoning_tokens integer not null default 0
    check (reasoning_tokens >= 0);
