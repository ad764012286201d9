/** Settings both SDK-based adapters use, and the failure context they build per call. */
import type { ProviderAdapterInit, ProviderCallOptions } from "./provider.ts";
import type { SdkFailureContext } from "./sdk-failure.ts";
import type { SecretScrubber } from "../../runtime/secret-scrubber.ts";

/** The router owns timeouts; an SDK's own is only a backstop far beyond any attempt's budget. */
export const SDK_TIMEOUT_MS = 3_600_000;

/**
 * Sent when no key is configured: local servers need none, and a provider
 * that does answers 401, which classifies as INVALID_API_KEY instead of the
 * SDK refusing to construct.
 */
export const PLACEHOLDER_KEY = "no-key";

/** What a failure of one call is classified against; `secrets` is the adapter's scrubber. */
export function failureContext(
  init: ProviderAdapterInit,
  options: ProviderCallOptions,
  secrets: SecretScrubber,
): SdkFailureContext {
  return {
    provider: init.spec.name,
    model: options.model,
    signal: options.signal,
    now: init.now,
    secrets,
  };
}
