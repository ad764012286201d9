/**
 * The platform's router (its keys from env) and the circuits every router of
 * the isolate shares, kept in the state store: with Redis, every isolate sees
 * a circuit open together, and the circuits API resets through the same
 * store.
 */
import type { EnvReader } from "../../_shared/runtime/env.ts";
import { createRouterFromEnv, type RouterEnvDeps } from "../../_shared/router-env/from-env.ts";
import type { LLMRouter } from "../../_shared/llm/router.ts";
import type { PreferenceSource } from "../../_shared/llm/routing.ts";
import {
  type CircuitTransition,
  StoreCircuitBreakers,
} from "../../_shared/guards/store-breakers.ts";
import type { StateStore } from "../../_shared/store/state-store.ts";

/** What tests and the dev server may inject into the router (never its circuits: those are the store's). */
export type PlatformRouterDeps = Omit<RouterEnvDeps, "breakers">;

/** The router and its circuits. */
export interface PlatformRouter {
  router: LLMRouter;
  circuits: StoreCircuitBreakers;
}

/** Builds the router from env; `onCircuitError` hears of a store failure (circuits fail open). */
export function platformRouterFrom(
  env: EnvReader,
  store: StateStore,
  options: {
    preferences?: PreferenceSource;
    deps?: PlatformRouterDeps;
    onCircuitError: (error: unknown) => void;
    /** Hears each circuit state change, once across the isolates sharing the store (alerts). */
    onCircuitTransition?: (transition: CircuitTransition) => void;
  },
  warnings: string[],
): PlatformRouter {
  let circuits: StoreCircuitBreakers | undefined;
  const router = createRouterFromEnv(env, {
    ...options.deps,
    ...(options.preferences ? { preferences: options.preferences } : {}),
    // Built with the router's own breaker policy; an account's router (withApiKeys) gets the same one.
    breakers: (policy) =>
      circuits ??= new StoreCircuitBreakers(
        store,
        policy,
        options.onCircuitError,
        options.onCircuitTransition,
      ),
  }, warnings);
  if (!circuits) throw new Error("the router did not build its circuit breakers");
  return { router, circuits };
}
