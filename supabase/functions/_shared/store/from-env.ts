/**
 * The StateStore a deployment configured: Upstash Redis when
 * UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are set (state shared by
 * every isolate), else this isolate's memory (the embedded default).
 */
import { type EnvReader, intSetting } from "../runtime/env.ts";
import { MemoryStateStore, type StateStore } from "./state-store.ts";

/** Builds the store from env; the Upstash client is imported only when it is used. */
export async function stateStoreFromEnv(
  env: EnvReader,
  now: () => number,
  warnings: string[],
): Promise<StateStore> {
  const url = env("UPSTASH_REDIS_REST_URL");
  const token = env("UPSTASH_REDIS_REST_TOKEN");
  if (!url && !token) return new MemoryStateStore(now);
  if (!url || !token) {
    warnings.push(
      "set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to share state across isolates; using memory",
    );
    return new MemoryStateStore(now);
  }
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    warnings.push("UPSTASH_REDIS_REST_URL is not an http(s) URL; using memory");
    return new MemoryStateStore(now);
  }
  const { UpstashStateStore } = await import("./upstash-store.ts");
  return new UpstashStateStore({
    url,
    token,
    prefix: env("LLM_REDIS_PREFIX") ?? "llm:",
    // Configuration read on every request (preferences, guard settings) is reused this long.
    nearCacheMs: intSetting(
      env,
      "LLM_REDIS_NEAR_CACHE_MS",
      2_000,
      { min: 0, max: 60_000 },
      warnings,
    ),
  });
}
