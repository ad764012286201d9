/** The one log line each routed request leaves: who, which provider and model, outcome, tokens, cost. Never prompt text. */
import type { Logger } from "../_shared/http/log.ts";
import type { RoutedStream, RouteOutcome } from "../_shared/llm/router.ts";
import type { LLMUsage } from "../_shared/llm/types.ts";

/** What is known about a request before it is routed. */
export interface RequestLogBase {
  requestId: string;
  api: "native" | "openai";
  caller: string;
}

/** Logs a finished request. */
export function logRouted(
  log: Logger,
  base: RequestLogBase,
  stream: boolean,
  route: RouteOutcome,
  outcome: { code: string; usage?: LLMUsage; costUsd?: number },
): void {
  log.info("llm_request", {
    ...base,
    stream,
    provider: route.provider,
    model: route.model,
    attempts: route.attempts,
    fallbackIndex: route.fallbackIndex,
    outcome: outcome.code,
    inputTokens: outcome.usage?.inputTokens,
    outputTokens: outcome.usage?.outputTokens,
    cachedInputTokens: outcome.usage?.cachedInputTokens,
    costUsd: outcome.costUsd,
  });
}

/** Logs a stream when it ends, however it ends. */
export function logWhenStreamEnds(log: Logger, base: RequestLogBase, routed: RoutedStream): void {
  routed.completion.then((end) =>
    logRouted(
      log,
      base,
      true,
      routed.route,
      end.ok ? { code: "ok", usage: end.usage, costUsd: end.costUsd } : { code: end.error.code },
    )
  );
}
