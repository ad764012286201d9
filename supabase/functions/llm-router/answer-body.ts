/** A routed answer as the native API returns it and as a job stores it. */
import type { NativeRoutedAnswer } from "../_shared/dialects/native-schema.ts";
import { toolCallsToOpenAI } from "../_shared/llm/openai-wire.ts";
import type { RoutedChat } from "../_shared/llm/router.ts";

/** `{text, provider, model, toolCalls (OpenAI format), finishReason, usage, costUsd, steps?}`. */
export function answerBody(answer: RoutedChat & { steps?: number }): NativeRoutedAnswer {
  return {
    text: answer.text,
    provider: answer.provider,
    model: answer.model,
    toolCalls: toolCallsToOpenAI(answer.toolCalls),
    finishReason: answer.finishReason,
    usage: answer.usage,
    costUsd: answer.costUsd,
    ...(answer.steps !== undefined ? { steps: answer.steps } : {}),
  };
}
