/**
 * The providers the router knows, as data. Adding an OpenAI-compatible
 * provider is one entry here (or one entry of `LLM_CUSTOM_PROVIDERS` in
 * config for self-hosted servers such as Ollama, vLLM or LM Studio).
 */
import type { OpenAICompatibleQuirks, ProviderSpec } from "./provider.ts";

const OPENAI_LIKE: OpenAICompatibleQuirks = {
  maxTokensField: "max_tokens",
  streamUsage: true,
  parallelToolCallsParam: true,
  embeddings: false,
};

const spec = (
  name: string,
  protocol: ProviderSpec["protocol"],
  defaultBaseUrl: string,
  quirks: Partial<OpenAICompatibleQuirks> = {},
): ProviderSpec => {
  const prefix = name.toUpperCase();
  return {
    name,
    protocol,
    defaultBaseUrl,
    keyEnv: `${prefix}_API_KEY`,
    baseUrlEnv: `${prefix}_BASE_URL`,
    requiresKey: true,
    quirks: { ...OPENAI_LIKE, ...quirks },
  };
};

/** Built-in providers. */
export const BUILT_IN_PROVIDERS: readonly ProviderSpec[] = [
  spec("openai", "openai", "https://api.openai.com/v1", {
    maxTokensField: "max_completion_tokens",
    embeddings: true,
  }),
  spec("anthropic", "anthropic", "https://api.anthropic.com"),
  spec("gemini", "openai", "https://generativelanguage.googleapis.com/v1beta/openai", {
    parallelToolCallsParam: false,
    embeddings: true,
  }),
  spec("mistral", "openai", "https://api.mistral.ai/v1", { streamUsage: false, embeddings: true }),
  spec("groq", "openai", "https://api.groq.com/openai/v1", { streamUsage: false }),
  spec("openrouter", "openai", "https://openrouter.ai/api/v1"),
  spec("xai", "openai", "https://api.x.ai/v1"),
  spec("deepseek", "openai", "https://api.deepseek.com/v1", { parallelToolCallsParam: false }),
];

/** A self-hosted or extra OpenAI-compatible provider from configuration. */
export interface CustomProviderConfig {
  name: string;
  baseUrl: string;
  /** Env var with its key; omitted for servers that need none. */
  keyEnv?: string;
  quirks?: Partial<OpenAICompatibleQuirks>;
}

/** The spec of a configured custom provider. */
export function customProviderSpec(config: CustomProviderConfig): ProviderSpec {
  return {
    name: config.name,
    protocol: "openai",
    defaultBaseUrl: config.baseUrl,
    keyEnv: config.keyEnv ?? `${config.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_API_KEY`,
    baseUrlEnv: `${config.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_BASE_URL`,
    requiresKey: config.keyEnv !== undefined,
    quirks: { ...OPENAI_LIKE, embeddings: true, ...config.quirks },
  };
}
