/**
 * Deployments: several places one catalog model is served from (two keys of
 * one provider, the provider and a mirror speaking its protocol), each with
 * a weight, its own key and base URL, its own circuit and its own per-minute
 * ceiling. A request tries a model's deployments in a weighted random order
 * (drawn with the router's injected `random`), so traffic spreads by weight
 * and a deployment that is skipped (circuit open, ceiling full) or fails
 * hands the request to the next deployment of the same model before any
 * fallback model is tried.
 */

/** A deployment as configured (`LLM_DEPLOYMENTS`), before its key is looked up. */
export interface DeploymentConfig {
  /** Unique within its model: the `x-llm-deployment` header, circuit and ceiling keys, metrics. */
  name: string;
  /** Share of the model's traffic, relative to its siblings'; 0: a standby, tried only after them. */
  weight: number;
  /** The env var holding its key; absent: the provider's own key (`<PROVIDER>_API_KEY`). */
  keyEnv?: string;
  /** Its endpoint; absent: the provider's (`<PROVIDER>_BASE_URL`, else the default). */
  baseUrl?: string;
  /** Requests per minute this deployment takes (its key's quota); absent: no ceiling of its own. */
  rpm?: number;
  /** Tokens (input + max output) per minute; absent: no ceiling of its own. */
  tpm?: number;
}

/** A deployment a request can be routed to: what the runner, the gate and the route see of it. */
export interface Deployment {
  name: string;
  weight: number;
  /** Its own per-minute ceiling, enforced by the gateway's gate; absent: none. */
  ceiling?: { rpm?: number; tpm?: number };
}

/**
 * `deployments` in the order one request tries them: each next one drawn
 * with probability proportional to its weight among those left, standbys
 * (weight 0) last in their configured order. One deployment (or none) is
 * returned as it is, without drawing.
 */
export function weightedOrder<T extends { weight: number }>(
  deployments: readonly T[],
  random: () => number,
): readonly T[] {
  if (deployments.length < 2) return deployments;
  const left = [...deployments];
  const order: T[] = [];
  let total = 0;
  let weighted = 0;
  for (const deployment of left) {
    if (deployment.weight <= 0) continue;
    total += deployment.weight;
    weighted++;
  }
  for (; weighted > 0; weighted--) {
    // The last weighted one needs no draw.
    let point = weighted === 1 ? 0 : random() * total;
    let chosen = -1;
    for (let i = 0; i < left.length; i++) {
      const weight = left[i].weight;
      if (weight <= 0) continue;
      chosen = i;
      if (point < weight) break;
      point -= weight;
    }
    // Rounding can leave `point` past the last weight: the last weighted one is chosen then.
    const [next] = left.splice(chosen, 1);
    order.push(next);
    total -= next.weight;
  }
  for (const standby of left) order.push(standby);
  return order;
}
