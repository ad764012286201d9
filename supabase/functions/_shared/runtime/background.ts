/**
 * Work that outlives the response: Supabase's `EdgeRuntime.waitUntil` keeps
 * the isolate alive until it settles. Elsewhere (tests, `deno task dev`) the
 * process lives on anyway, so the work only needs its failure logged.
 */
import type { Logger } from "./log.ts";
import { errorMessage } from "./error-message.ts";

/** Hands background work to the runtime. */
export type WaitUntil = (work: Promise<unknown>) => void;

/** `EdgeRuntime.waitUntil` when the runtime has one (Supabase); undefined elsewhere. */
export function edgeRuntimeWaitUntil(): WaitUntil | undefined {
  const runtime = (globalThis as { EdgeRuntime?: { waitUntil?: WaitUntil } }).EdgeRuntime;
  return runtime?.waitUntil ? (work) => runtime.waitUntil!(work) : undefined;
}

/**
 * The `waitUntil` to use: `injected` (tests), else the runtime's, else one
 * that only logs a failure. `outlivesResponse` says whether work handed to it
 * really survives the response (it does not on a plain Deno server that
 * could stop any time, so callers that must finish inline can tell).
 */
export function backgroundWork(
  log: Logger,
  injected?: WaitUntil,
): { waitUntil: WaitUntil; outlivesResponse: boolean } {
  const runtime = injected ?? edgeRuntimeWaitUntil();
  return {
    waitUntil: runtime ?? ((work) => {
      work.catch((error) => log.error("background_failed", { detail: errorMessage(error) }));
    }),
    outlivesResponse: runtime !== undefined,
  };
}
