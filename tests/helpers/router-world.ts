/** A router over fake providers, with a settable clock and recorded backoff sleeps. */
import {
  defaultRouterConfig,
  type RouterConfig,
} from "../../supabase/functions/_shared/llm/config.ts";
import { LLMRouter, type LLMRouterOptions } from "../../supabase/functions/_shared/llm/router.ts";
import { TokenBudgetManager } from "../../supabase/functions/_shared/llm/tokens.ts";
import { FakeProviders } from "./fake-provider.ts";

/** Platform keys the fake world has: openai, anthropic, gemini (no deepseek, so it is skipped). */
export const PLATFORM_KEYS = {
  openai: "sk-platform-openai-key",
  anthropic: "sk-ant-platform-key",
  gemini: "gemini-platform-key",
};

/** Everything a router unit test touches. */
export interface RouterWorld {
  router: LLMRouter;
  fakes: FakeProviders;
  sleeps: number[];
  clock: { now: () => number; advance: (ms: number) => void };
  config: RouterConfig;
}

/** Builds a router; `tune` may adjust config before construction. */
export function routerWorld(
  tune: (config: RouterConfig) => void = () => {},
  options: Partial<LLMRouterOptions> = {},
): RouterWorld {
  const fakes = new FakeProviders();
  const sleeps: number[] = [];
  let time = 1_800_000_000_000;
  const clock = { now: () => time, advance: (ms: number) => (time += ms) };
  const config = defaultRouterConfig();
  config.retry = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 2_000 };
  config.timeouts = { ...config.timeouts, requestMs: 150, firstEventMs: 150, idleMs: 150 };
  tune(config);
  const router = new LLMRouter({
    config,
    keys: PLATFORM_KEYS,
    createAdapter: fakes.createAdapter,
    clock,
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    // Count words, so budgets in tests are easy to reason about and no tokenizer loads.
    tokens: new TokenBudgetManager({
      loadEncoder: () => Promise.resolve((text) => text.split(/\s+/).filter(Boolean).length),
    }),
    ...options,
  });
  return { router, fakes, sleeps, clock, config };
}

/** A one-turn chat request. */
export function ask(text = "hello", extra: Record<string, unknown> = {}) {
  return { chat: { messages: [{ role: "user" as const, content: text }] }, ...extra };
}

/** A signal that never aborts. */
export const never = () => new AbortController().signal;
