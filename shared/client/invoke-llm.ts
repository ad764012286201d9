/**
 * `invokeLLM`: the drop-in for code that called a provider directly. The
 * parameters a provider call took go to llm-router's native API; the answer
 * comes back in one shape whichever provider served it.
 */
import type {
  InvokeLLMParams,
  InvokeLLMResult,
  RouterAnswer,
  RouterClient,
  RouterClientOptions,
  RouterRequest,
} from "./types.ts";

/** The native request for `params`: `model` is tried first, `auto:<useCase>` picks a use case, `auto` lets routing choose. */
export function invokeRequest(params: InvokeLLMParams): RouterRequest {
  const { model, signal: _signal, ...rest } = params;
  const request: RouterRequest = { ...rest };
  if (model !== undefined && model !== "auto") {
    if (model.startsWith("auto:")) request.useCase ??= model.slice("auto:".length);
    else request.modelOverride = model;
  }
  return request;
}

/** `InvokeLLMResult` of a native answer: tool calls flattened to `{id, name, arguments}`. */
export function invokeResult(answer: RouterAnswer): InvokeLLMResult {
  return {
    text: answer.text,
    toolCalls: answer.toolCalls.map((call) => ({
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    })),
    usage: answer.usage,
    costUsd: answer.costUsd,
    provider: answer.provider,
    model: answer.model,
    finishReason: answer.finishReason,
  };
}

/** Whether `value` is a client rather than the options to build one. */
function isClient(value: RouterClient | RouterClientOptions): value is RouterClient {
  return typeof (value as RouterClient).invokeLLM === "function";
}

/**
 * `invokeLLM` without holding a client: `target` is a client, or the options
 * to build one (`createRouterClient` is passed in to keep this module free of it).
 */
export function invokeWith(
  create: (options: RouterClientOptions) => RouterClient,
  target: RouterClient | RouterClientOptions,
  params: InvokeLLMParams,
): Promise<InvokeLLMResult> {
  return (isClient(target) ? target : create(target)).invokeLLM(params);
}
