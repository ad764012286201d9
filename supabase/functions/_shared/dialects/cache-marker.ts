/**
 * The prompt-cache marker as callers write it (`cache_control`, Anthropic's
 * shape, which OpenRouter and LiteLLM also accept on chat completions
 * content parts) and its reading into the gateway's `cacheControl`.
 */
import { z } from "zod";
import type { LLMCacheControl } from "../llm/types.ts";

/** `cache_control` on a block or part: `{type: "ephemeral", ttl?}`, null or absent. */
export const wireCacheControl = z.strictObject({
  type: z.literal("ephemeral"),
  ttl: z.enum(["5m", "1h"]).optional(),
}).nullable().optional();

type WireCacheControl = z.infer<typeof wireCacheControl>;

/** A marker as the gateway carries it. */
export function cacheControlOf(marker: NonNullable<WireCacheControl>): LLMCacheControl {
  return marker.ttl ? { type: "ephemeral", ttl: marker.ttl } : { type: "ephemeral" };
}

/** `{cacheControl}` when the block carries a marker, else nothing: for spreading into a part. */
export function marked(block: { cache_control?: WireCacheControl }): {
  cacheControl?: LLMCacheControl;
} {
  return block.cache_control ? { cacheControl: cacheControlOf(block.cache_control) } : {};
}

/**
 * The marker of the last marked part of `parts`, or nothing: a message the
 * gateway carries as one block (a system or tool message's joined text)
 * caches through its end when any part of it asked to.
 */
export function lastMarkOf(
  parts: string | readonly { cache_control?: WireCacheControl }[] | null | undefined,
): { cacheControl?: LLMCacheControl } {
  if (typeof parts === "string" || !parts) return {};
  for (let i = parts.length - 1; i >= 0; i--) {
    const mark = marked(parts[i]);
    if (mark.cacheControl) return mark;
  }
  return {};
}
