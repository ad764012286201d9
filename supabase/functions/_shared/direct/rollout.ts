/**
 * The router rollout flag: `ENABLE_LLM_ROUTER` plus `LLM_ROUTER_ROLLOUT_PERCENT`
 * move a stable share of users onto llm-router. A user's bucket is a SHA-256
 * of their id, so the same user always takes the same path and raising the
 * percentage only ever adds users.
 */

/** The flag as configured. */
export interface RolloutFlag {
  enabled: boolean;
  /** 0–100, two decimals of precision. */
  percent: number;
}

/** Which implementation serves a request; sent back as `x-llm-path`. */
export type ServingPath = "direct" | "router";

/** Buckets per percent point: 10,000 buckets give 0.01 % steps. */
const BUCKETS = 10_000;

/** Builds the flag; enabled without a percentage means everyone (100). */
export function rolloutFlagFrom(
  enabled: boolean,
  percentSetting: string | undefined,
  warnings: string[],
): RolloutFlag {
  if (!enabled) return { enabled: false, percent: 0 };
  if (percentSetting === undefined) return { enabled: true, percent: 100 };
  const percent = Number(percentSetting);
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    // A broken flag must not take chat down: keep everyone on the direct path.
    warnings.push(
      `LLM_ROUTER_ROLLOUT_PERCENT=${percentSetting.slice(0, 20)} is not 0–100; routing nobody`,
    );
    return { enabled: true, percent: 0 };
  }
  return { enabled: true, percent };
}

/** The user's stable bucket in [0, 10000). */
export async function rolloutBucket(userId: string): Promise<number> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`llm-router-rollout:${userId}`),
  );
  return new DataView(digest).getUint32(0) % BUCKETS;
}

/** Which path serves `userId` under `flag`. */
export async function servingPathFor(userId: string, flag: RolloutFlag): Promise<ServingPath> {
  if (!flag.enabled || flag.percent <= 0) return "direct";
  if (flag.percent >= 100) return "router";
  const bucket = await rolloutBucket(userId);
  return bucket < Math.round(flag.percent * (BUCKETS / 100)) ? "router" : "direct";
}
