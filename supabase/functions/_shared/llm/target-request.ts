/**
 * What one target is sent beyond fitting its window: a JSON schema by the
 * model's own means (native, or a forced tool call), and the request's
 * reasoning in the control the model takes — or dropped, with a warning the
 * route reports. The planner asks per target, so every fallback gets what it
 * can use. Adapters then send `reasoning` as they find it: `effort` as the
 * provider's effort field, `budgetTokens` as Anthropic's thinking budget.
 */
import {
  type CatalogModel,
  reasoningControlOf,
  reasoningEffortsOf,
  structuredOutputOf,
} from "./catalog.ts";
import { schemaToolRequest } from "./forced-tool.ts";
import type { ProviderSpec } from "./providers/provider.ts";
import { DEFAULT_OUTPUT_RESERVE } from "./tokens.ts";
import {
  LLM_REASONING_EFFORTS,
  type LLMChatRequest,
  type LLMReasoningEffort,
  type LLMReasoningRequest,
} from "./types.ts";

/** Anthropic's smallest thinking budget. */
export const MIN_THINKING_BUDGET = 1_024;

const EFFORT_ORDER: readonly LLMReasoningEffort[] = LLM_REASONING_EFFORTS;

/**
 * The thinking budget an effort level stands for (Anthropic), and the output
 * an effort model is given room for when the caller sets no `maxTokens`.
 */
export const THINKING_BUDGETS: Readonly<Record<LLMReasoningEffort, number>> = {
  none: 0,
  minimal: 1_024,
  low: 2_048,
  medium: 8_192,
  high: 16_384,
  xhigh: 32_000,
  max: 48_000,
};

/** A request prepared for one target. */
export interface TargetRequest {
  request: LLMChatRequest;
  /** What the target will not do as asked, in words (`x-llm-warnings`). */
  warnings: string[];
  /** The tool carrying the schema, when a forced tool call guarantees it. */
  schemaTool?: string;
}

/** `chat` as `model` (served by `spec`) should get it, before its window is fitted. */
export function requestForTarget(
  chat: LLMChatRequest,
  model: CatalogModel,
  spec: ProviderSpec,
): TargetRequest {
  const warnings: string[] = [];
  let request = chat;
  let schemaTool: string | undefined;
  if (chat.responseFormat?.type === "json_schema" && structuredOutputOf(model) === "tool") {
    ({ request, toolName: schemaTool } = schemaToolRequest(chat));
  }
  if (request.reasoning) request = withReasoning(request, request.reasoning, model, spec, warnings);
  return { request, warnings, schemaTool };
}

/**
 * Once the window is fitted (`maxTokens` final): Anthropic wants the
 * thinking budget below `max_tokens` and at least 1,024, so the budget is cut
 * to fit or, with no room left, thinking is left off (the effort stays).
 */
export function fitThinkingBudget(
  request: LLMChatRequest,
  model: CatalogModel,
  warnings: string[],
): LLMChatRequest {
  const budget = request.reasoning?.budgetTokens;
  const maxTokens = request.maxTokens;
  if (budget === undefined || maxTokens === undefined || budget < maxTokens) return request;
  const { budgetTokens: _budget, ...rest } = request.reasoning!;
  if (maxTokens - 1 < MIN_THINKING_BUDGET) {
    warnings.push(
      `thinking off: ${maxTokens} max tokens leave ${model.id} no room for a thinking budget`,
    );
    return { ...request, reasoning: rest };
  }
  warnings.push(`thinking budget cut from ${budget} to ${maxTokens - 1} tokens to fit max tokens`);
  return { ...request, reasoning: { ...rest, budgetTokens: maxTokens - 1 } };
}

function withReasoning(
  request: LLMChatRequest,
  asked: LLMReasoningRequest,
  model: CatalogModel,
  spec: ProviderSpec,
  warnings: string[],
): LLMChatRequest {
  const { reasoning: _asked, ...rest } = request;
  const control = reasoningControlOf(model);
  if (control === "none") {
    // Asking for no reasoning is what such a model does anyway.
    if (asked.effort !== "none") {
      warnings.push(`reasoning ignored: ${model.id} has no reasoning control`);
    }
    return rest;
  }
  if (spec.protocol === "anthropic") return anthropicReasoning(request, asked, model, warnings);
  // Every OpenAI-compatible control is an effort level.
  const effort = effortFor(asked, model, warnings);
  return { ...rest, maxTokens: reservedOutput(request, model, effort), reasoning: { effort } };
}

/**
 * Claude: `effort: "none"` turns thinking off; otherwise a thinking budget
 * (the caller's, or its effort's) and, for models that take one, the effort
 * level. A Messages body's own `thinking` (passthrough) is sent as given and
 * left alone here.
 */
function anthropicReasoning(
  request: LLMChatRequest,
  asked: LLMReasoningRequest,
  model: CatalogModel,
  warnings: string[],
): LLMChatRequest {
  const { reasoning: _asked, ...rest } = request;
  const takesEffort = reasoningControlOf(model) === "effort" && asked.effort !== undefined &&
    asked.effort !== "none";
  if (request.passthrough?.anthropic?.thinking !== undefined) {
    // Only the effort is still ours to send (to a model that takes one), beside the body's thinking.
    return takesEffort
      ? { ...rest, reasoning: { effort: effortFor(asked, model, warnings) } }
      : rest;
  }
  if (asked.effort === "none") return { ...rest, reasoning: { effort: "none" } };
  const forced = request.toolChoice === "required" || typeof request.toolChoice === "object";
  if (forced && (request.tools?.length ?? 0) > 0) {
    warnings.push(`reasoning ignored: ${model.id} cannot think while a tool call is forced`);
    return rest;
  }
  const budgetTokens = Math.max(
    MIN_THINKING_BUDGET,
    asked.budgetTokens ?? THINKING_BUDGETS[asked.effort ?? "medium"],
  );
  const reasoning: LLMReasoningRequest = { budgetTokens };
  if (takesEffort) reasoning.effort = effortFor(asked, model, warnings);
  return {
    ...rest,
    maxTokens: request.maxTokens ?? Math.min(
      model.maxOutputTokens,
      DEFAULT_OUTPUT_RESERVE + budgetTokens,
    ),
    reasoning,
  };
}

/** The effort level to send `model`: the asked one, or the nearest it accepts. */
function effortFor(
  asked: LLMReasoningRequest,
  model: CatalogModel,
  warnings: string[],
): LLMReasoningEffort {
  const wanted = asked.effort ?? effortForBudget(asked.budgetTokens);
  const accepted = reasoningEffortsOf(model);
  const effort = nearestEffort(wanted, accepted);
  if (asked.effort === undefined && asked.budgetTokens !== undefined) {
    warnings.push(
      `reasoning budget of ${asked.budgetTokens} tokens sent as effort ${effort}: ` +
        `${model.id} takes an effort level`,
    );
  } else if (effort !== wanted) {
    warnings.push(
      `reasoning effort ${wanted} sent as ${effort}: ${model.id} takes ${accepted.join("/")}`,
    );
  }
  return effort;
}

/** The effort level whose thinking budget is nearest above `budget` (medium when none is given). */
export function effortForBudget(budget: number | undefined): LLMReasoningEffort {
  if (budget === undefined) return "medium";
  return EFFORT_ORDER.find((effort) => effort !== "none" && THINKING_BUDGETS[effort] >= budget) ??
    "max";
}

/** `wanted` if `accepted` has it, else the accepted level nearest to it (the higher on a tie). */
export function nearestEffort(
  wanted: LLMReasoningEffort,
  accepted: readonly LLMReasoningEffort[],
): LLMReasoningEffort {
  if (accepted.includes(wanted) || accepted.length === 0) return wanted;
  const rank = (effort: LLMReasoningEffort) => EFFORT_ORDER.indexOf(effort);
  const distance = (effort: LLMReasoningEffort) => Math.abs(rank(effort) - rank(wanted));
  let best = accepted[0];
  for (const candidate of accepted.slice(1)) {
    const nearer = distance(candidate) < distance(best);
    const tieAbove = distance(candidate) === distance(best) && rank(candidate) > rank(best);
    if (nearer || tieAbove) best = candidate;
  }
  return best;
}

/**
 * An effort model's output cap counts its reasoning: with no `maxTokens` from
 * the caller, the default answer reserve gets the effort's budget on top, so
 * reasoning does not eat the answer.
 */
function reservedOutput(
  request: LLMChatRequest,
  model: CatalogModel,
  effort: LLMReasoningEffort,
): number | undefined {
  if (request.maxTokens !== undefined) return request.maxTokens;
  return Math.min(model.maxOutputTokens, DEFAULT_OUTPUT_RESERVE + THINKING_BUDGETS[effort]);
}
