/**
 * From candidates to targets: each candidate model is looked up, checked for
 * a provider, a key, the capabilities the request needs and its price
 * ceiling (a model priced above it is never tried), and the request
 * is fitted to its window (trimmed, optionally with a summary of what was
 * dropped), after it is prepared for the model (`target-request.ts`: a JSON
 * schema by the model's own means, reasoning in its control or dropped with
 * a warning). What is left out is recorded with a typed reason. A model with
 * deployments becomes one target per deployment, in a weighted random order
 * (`deployments.ts`), all sharing the one fitted request. Targets are
 * produced lazily, so a request that the first target serves never pays for
 * fitting the others.
 */
import type { ModelCatalog } from "./catalog.ts";
import type { RouterConfig } from "./config.ts";
import { type Deployment, weightedOrder } from "./deployments.ts";
import { LLMError } from "./errors.ts";
import type { ProviderPool } from "./provider-pool.ts";
import type { ProviderSpec } from "./providers/provider.ts";
import type { PlannedTarget, RouteRequest } from "./route-types.ts";
import {
  candidateModels,
  type Candidates,
  missingCapability,
  needsOf,
  type PreferenceSource,
  type RouteInput,
} from "./routing.ts";
import { overCeiling } from "./price-ceiling.ts";
import type { SkippedTarget, SkipReason } from "./skip-reason.ts";
import { fitThinkingBudget, requestForTarget } from "./target-request.ts";
import { utf8UpperBound } from "./token-count.ts";
import type { TokenBudgetManager } from "./tokens.ts";
import type { LLMChatRequest, LLMMessage } from "./types.ts";

/** What a planner is built from. */
export interface PlannerDeps {
  catalog: ModelCatalog;
  /** Which providers exist and have a key, and which models have deployments. */
  providers: Pick<ProviderPool, "spec" | "hasKey" | "adapter" | "deploymentsOf">;
  config: RouterConfig;
  tokens: TokenBudgetManager;
  preferences?: PreferenceSource;
  /** Draws the order of a model's deployments. */
  random: () => number;
}

/** Turns dropped turns into a short text (a summary call through the router). */
export type Summarizer = (dropped: LLMMessage[]) => Promise<string>;

/** Chooses and prepares the targets of a request. */
export class Planner {
  constructor(private readonly deps: PlannerDeps) {}

  /** The ordered candidates for `input` before filtering. */
  candidates(input: RouteInput): Promise<Candidates> {
    return candidateModels(input, this.deps.config, this.deps.preferences);
  }

  /**
   * The targets of a chat request, in order, fitted to their windows.
   * `summarize` (when trimming should summarize) runs at most once per
   * number of dropped messages, however many targets need trimming.
   */
  async *chatTargets(
    request: RouteRequest,
    candidates: Candidates,
    skipped: SkippedTarget[],
    summarize: Summarizer | undefined,
  ): AsyncGenerator<PlannedTarget> {
    const { catalog, config, tokens } = this.deps;
    const chat = withAgentParams(request.chat, candidates.params);
    const needs = needsOf(chat);
    const summaries = new Map<number, Promise<string>>();
    const summarizeOnce = summarize &&
      ((dropped: LLMMessage[]) => {
        let summary = summaries.get(dropped.length);
        if (!summary) {
          summary = summarize(dropped);
          summaries.set(dropped.length, summary);
        }
        return summary;
      });
    for (const id of candidates.models) {
      const model = catalog.get(id);
      if (!model) {
        skipped.push({ model: id, reason: { kind: "not-in-catalog" } });
        continue;
      }
      const spec = this.deps.providers.spec(model.provider);
      if (!spec) {
        skipped.push({ model: id, reason: { kind: "unknown-provider", provider: model.provider } });
        continue;
      }
      const missing = missingCapability(model, needs);
      const deployments = this.deps.providers.deploymentsOf(model.id);
      const reason: SkipReason | undefined = !this.#callable(spec, deployments)
        ? { kind: "no-key", provider: spec.name }
        : missing
        ? { kind: "missing-capability", capability: missing }
        : overCeiling(model, request.maxPricePerMTok);
      if (reason) {
        skipped.push({ model: id, reason });
        continue;
      }
      const prepared = requestForTarget(chat, model, spec);
      let fitted;
      try {
        fitted = await tokens.fit(prepared.request, model, {
          marginTokens: config.marginTokens,
          summarize: summarizeOnce,
        });
      } catch (error) {
        if (error instanceof LLMError && error.code === "TOKEN_LIMIT_EXCEEDED") {
          skipped.push({ model: id, reason: { kind: "window-too-small", error } });
          continue;
        }
        throw error;
      }
      const fittedRequest = {
        ...prepared.request,
        messages: fitted.messages,
        maxTokens: fitted.maxTokens,
        model: model.id,
      };
      const target: PlannedTarget = {
        model,
        spec,
        request: fitThinkingBudget(fittedRequest, model, prepared.warnings),
        droppedMessages: fitted.droppedCount,
        inputTokens: fitted.inputTokens,
        warnings: prepared.warnings,
        ...(prepared.schemaTool ? { schemaTool: prepared.schemaTool } : {}),
      };
      // A model without deployments costs no generator of its own: most models, most requests.
      if (deployments) yield* this.#perDeployment(target, deployments);
      else yield target;
    }
  }

  /** Whether `spec`'s model can be called: one of its deployments, or (without any) the provider, has a key. */
  #callable(spec: ProviderSpec, deployments: readonly Deployment[] | undefined): boolean {
    return deployments ? deployments.length > 0 : this.deps.providers.hasKey(spec);
  }

  /** `target` once per deployment, in this request's weighted order. */
  *#perDeployment(
    target: PlannedTarget,
    deployments: readonly Deployment[],
  ): Generator<PlannedTarget> {
    for (const deployment of weightedOrder(deployments, this.deps.random)) {
      yield { ...target, deployment };
    }
  }

  /**
   * The targets of an embeddings request. Fallbacks must produce vectors of
   * the first choice's size (unless the caller fixed `dimensions`), or the
   * caller's stored vectors would stop being comparable.
   */
  async *embeddingTargets(
    chain: readonly string[],
    dimensions: number | undefined,
    input: readonly string[],
    skipped: SkippedTarget[],
    maxPricePerMTok?: number,
  ): AsyncGenerator<PlannedTarget> {
    const inputTokens = inputBound(input);
    let size = dimensions;
    for (const id of chain) {
      const model = this.deps.catalog.get(id);
      if (!model) {
        skipped.push({ model: id, reason: { kind: "not-in-catalog" } });
        continue;
      }
      if (!model.capabilities.embeddings) {
        skipped.push({
          model: id,
          reason: { kind: "missing-capability", capability: "embeddings" },
        });
        continue;
      }
      const spec = this.deps.providers.spec(model.provider);
      if (!spec) {
        skipped.push({ model: id, reason: { kind: "unknown-provider", provider: model.provider } });
        continue;
      }
      const deployments = this.deps.providers.deploymentsOf(model.id);
      const reason: SkipReason | undefined = !this.#callable(spec, deployments)
        ? { kind: "no-key", provider: spec.name }
        : !this.deps.providers.adapter(spec, deployments?.[0]).embed
        ? { kind: "no-embeddings-endpoint", provider: spec.name }
        : overCeiling(model, maxPricePerMTok) ??
          (size !== undefined && dimensions === undefined && model.embeddingDimensions !== size
            ? { kind: "vector-size", dimensions: model.embeddingDimensions, expected: size }
            : undefined);
      if (reason) {
        skipped.push({ model: id, reason });
        continue;
      }
      size ??= model.embeddingDimensions;
      const target: PlannedTarget = {
        model,
        spec,
        request: { messages: [], maxTokens: 0 },
        droppedMessages: 0,
        inputTokens,
        warnings: [],
      };
      if (deployments) yield* this.#perDeployment(target, deployments);
      else yield target;
    }
  }
}

/** Tokens of embedding inputs, bounded from above by their UTF-8 size. */
function inputBound(input: readonly string[]): number {
  let bound = 0;
  for (const text of input) bound += utf8UpperBound(text);
  return bound;
}

function withAgentParams(chat: LLMChatRequest, params: Candidates["params"]): LLMChatRequest {
  if (!params) return chat;
  return {
    ...chat,
    temperature: chat.temperature ?? params.temperature,
    maxTokens: chat.maxTokens ?? params.maxTokens,
    topP: chat.topP ?? params.topP,
  };
}
