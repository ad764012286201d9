/**
 * The caller's rate limit on every routed answer, in OpenAI's header names,
 * so clients that already read them (the `openai` SDKs, proxies, dashboards)
 * read ours: the burst, what is left of it, and when it is whole again.
 */
import type { RateLimitStatus } from "../_shared/guards/rate-limit-scope.ts";

/** `x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests`; none without a status. */
export function rateLimitHeaders(status: RateLimitStatus | undefined): Record<string, string> {
  if (!status) return {};
  return {
    "x-ratelimit-limit-requests": String(status.limit),
    "x-ratelimit-remaining-requests": String(status.remaining),
    "x-ratelimit-reset-requests": durationText(status.resetMs),
  };
}

/**
 * `ms` as OpenAI writes a reset time (Go's duration format): `0s`, `120ms`,
 * `1s`, `1.5s`, `6m0s`, `1h2m3.004s`.
 */
export function durationText(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole === 0) return "0s";
  if (whole < 1_000) return `${whole}ms`;
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor((whole % 3_600_000) / 60_000);
  const seconds = Math.floor((whole % 60_000) / 1_000);
  const fraction = String(whole % 1_000).padStart(3, "0").replace(/0+$/, "");
  return `${hours ? `${hours}h` : ""}${hours || minutes ? `${minutes}m` : ""}${seconds}${
    fraction ? `.${fraction}` : ""
  }s`;
}
