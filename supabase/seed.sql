-- Global routing defaults: the catalog's use-case chains (catalog.ts
-- DEFAULT_USE_CASE_CHAINS) as llm_providers rows. An account's own rows
-- override these; a test keeps the two in step. Safe to run again.
insert into public.llm_providers (name, provider, model, use_case, priority, is_default)
values
  ('default-draft-1', 'openai', 'gpt-4o-mini', array['draft'], 10, true),
  ('default-draft-2', 'anthropic', 'claude-haiku-4-5', array['draft'], 20, false),
  ('default-draft-3', 'gemini', 'gemini-2.5-flash', array['draft'], 30, false),
  ('default-draft-4', 'mistral', 'mistral-small-latest', array['draft'], 40, false),
  ('default-summary-1', 'openai', 'gpt-4o-mini', array['summary'], 10, true),
  ('default-summary-2', 'anthropic', 'claude-haiku-4-5', array['summary'], 20, false),
  ('default-summary-3', 'gemini', 'gemini-2.5-flash', array['summary'], 30, false),
  ('default-summary-4', 'groq', 'llama-3.1-8b-instant', array['summary'], 40, false),
  ('default-complex-1', 'anthropic', 'claude-sonnet-4-6', array['complex'], 10, true),
  ('default-complex-2', 'openai', 'gpt-4.1', array['complex'], 20, false),
  ('default-complex-3', 'gemini', 'gemini-2.5-pro', array['complex'], 30, false),
  ('default-complex-4', 'xai', 'grok-4', array['complex'], 40, false),
  ('default-vision-1', 'openai', 'gpt-4o', array['vision'], 10, true),
  ('default-vision-2', 'anthropic', 'claude-sonnet-4-6', array['vision'], 20, false),
  ('default-vision-3', 'gemini', 'gemini-2.5-flash', array['vision'], 30, false),
  ('default-general-1', 'openai', 'gpt-4o-mini', array['general'], 10, true),
  ('default-general-2', 'anthropic', 'claude-haiku-4-5', array['general'], 20, false),
  ('default-general-3', 'gemini', 'gemini-2.5-flash', array['general'], 30, false),
  ('default-general-4', 'deepseek', 'deepseek-chat', array['general'], 40, false),
  ('default-voice-1', 'openai', 'gpt-4.1-nano', array['voice'], 10, true),
  ('default-voice-2', 'groq', 'llama-3.1-8b-instant', array['voice'], 20, false),
  ('default-voice-3', 'openai', 'gpt-4o-mini', array['voice'], 30, false),
  ('default-voice-4', 'anthropic', 'claude-haiku-4-5', array['voice'], 40, false),
  ('default-embedding-1', 'openai', 'text-embedding-3-small', array['embedding'], 10, true),
  ('default-embedding-2', 'gemini', 'gemini-embedding-001', array['embedding'], 20, false),
  ('default-embedding-3', 'mistral', 'mistral-embed', array['embedding'], 30, false),
  ('default-free-1', 'openrouter', 'z-ai/glm-4.5-air:free', array['free'], 10, true),
  ('default-free-2', 'openrouter', 'deepseek/deepseek-chat-v3.1:free', array['free'], 20, false),
  ('default-free-3', 'openrouter', 'minimax/minimax-m2:free', array['free'], 30, false),
  ('default-free-4', 'openrouter', 'moonshotai/kimi-k2:free', array['free'], 40, false),
  ('default-free-5', 'openrouter', 'qwen/qwen3-coder:free', array['free'], 50, false)
on conflict (name) where account_id is null do nothing;
