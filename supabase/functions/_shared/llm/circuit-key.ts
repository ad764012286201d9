/**
 * The name of one circuit: whose keys (the platform's, or an account's own)
 * calling which provider's model. The router writes circuits under it; health
 * reads them and operators reset them, so all of them build it here.
 */

/** The scope of the platform's own keys (a tenant's is `account:<id>`). */
export const PLATFORM_SCOPE = "platform";

/** The circuit of `model` at `provider` when called with `scope`'s keys. */
export function circuitKey(scope: string, provider: string, model: string): string {
  return `${scope}:${provider}:${model}`;
}

/** The circuit of a platform target: what health reads and an operator resets. */
export function platformCircuitKey(provider: string, model: string): string {
  return circuitKey(PLATFORM_SCOPE, provider, model);
}
