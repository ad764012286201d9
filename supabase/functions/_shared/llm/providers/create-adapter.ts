/**
 * The one place that maps a provider's wire protocol to its adapter class.
 */
import { AnthropicAdapter } from "./anthropic.ts";
import { OpenAICompatibleAdapter } from "./openai-compatible.ts";
import type { ProviderAdapter, ProviderAdapterInit } from "./provider.ts";

/** An adapter for `init.spec`, chosen by its protocol. */
export function createProviderAdapter(init: ProviderAdapterInit): ProviderAdapter {
  switch (init.spec.protocol) {
    case "anthropic":
      return new AnthropicAdapter(init);
    case "openai":
      return new OpenAICompatibleAdapter(init);
  }
}
