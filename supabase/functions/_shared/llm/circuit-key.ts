/**
 * The name of one circuit: whose keys (the platform's, or an account's own)
 * calling which provider's model, and, for a model with deployments, which
 * deployment (each has its own key and endpoint, so its own health). The
 * router writes circuits under it; health reads them and operators reset
 * them, so all of them build it here.
 */

/** The scope of the platform's own keys (a tenant's is `account:<id>`). */
export const PLATFORM_SCOPE = "platform";

/**
 * The circuit of `model` at `provider` when called with `scope`'s keys;
 * with `deployment`, that deployment's (a model without deployments keeps
 * the key it always had).
 */
export function circuitKey(
  scope: string,
  provider: string,
  model: string,
  deployment?: string,
): string {
  return deployment === undefined
    ? `${scope}:${provider}:${model}`
    : `${scope}:${provider}:${model}@${deployment}`;
}

/** The circuit of a platform target (or one of its deployments): what health reads and an operator resets. */
export function platformCircuitKey(provider: string, model: string, deployment?: string): string {
  return circuitKey(PLATFORM_SCOPE, provider, model, deployment);
}
