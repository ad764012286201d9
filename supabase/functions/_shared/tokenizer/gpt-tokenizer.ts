/**
 * The binding of token counting to gpt-tokenizer's BPE encodings. It lives
 * outside the core (llm/ names only the `EncoderLoader` shape) so the core
 * imports no package: the composition root hands this loader to the
 * `TokenBudgetManager`.
 */
import type { EncoderFamily, TokenCounter } from "../llm/token-count.ts";

/**
 * Loads the counter of `family`. The imports are dynamic so the merge tables
 * (2.4 MB of source for o200k, 1.2 MB for cl100k) are paid for only by
 * requests that need exact counts; the specifiers are string literals so the
 * deploy bundler can still include them.
 */
export async function loadGptTokenizer(family: EncoderFamily): Promise<TokenCounter> {
  const encoding = family === "o200k"
    ? await import("gpt-tokenizer/encoding/o200k_base")
    : await import("gpt-tokenizer/encoding/cl100k_base");
  // Callers' text may contain "<|endoftext|>" and the like: count it as text
  // instead of letting the tokenizer throw.
  const plainText = { disallowedSpecial: new Set<string>() };
  return (text) => encoding.countTokens(text, plainText);
}
