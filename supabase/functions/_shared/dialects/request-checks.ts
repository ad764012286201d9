/**
 * The checks a chat body needs beyond its schema, the same in every dialect:
 * a model the catalog knows (and that chats) or a routing alias, and a tool
 * choice that names a declared tool. They run with the body's other validation, before anything
 * is decrypted or stored.
 */
import { clipInput, validationError } from "../http/errors.ts";
import type { ModelCatalog, UseCase } from "../llm/catalog.ts";
import type { LLMChatRequest, LLMTool, LLMToolChoice } from "../llm/types.ts";
import { isChatUseCase } from "./native-schema.ts";
import { toolChoiceFromOpenAI, toolsFromOpenAI } from "./openai-wire.ts";
import type { WireTool, WireToolChoice } from "./wire-schema.ts";

/** `id` when the catalog has it as a chat model; a 400 naming `field` otherwise. */
export function knownChatModel(catalog: ModelCatalog, id: string, field: string): string {
  const model = catalog.get(id);
  if (!model) {
    throw validationError(field, `unknown model ${clipInput(id)}; GET /v1/models lists them`);
  }
  if (!model.capabilities.chat) throw validationError(field, `${id} is not a chat model`);
  return id;
}

const AUTO = /^auto(?::([a-z]+))?$/;

/** Where a request's `model` field sends it. */
export interface ModelRoute {
  useCase?: UseCase;
  modelOverride?: string;
}

/**
 * What a dialect's `model` field means: a catalog model (tried first, then
 * its use case's chain), `auto` (the `useCase` given, else the default
 * chain) or `auto:<useCase>`. A 400 naming `field` for anything else.
 */
export function modelRoute(
  catalog: ModelCatalog,
  model: string,
  field: string,
  useCase?: UseCase,
): ModelRoute {
  const auto = AUTO.exec(model);
  if (!auto) return { useCase, modelOverride: knownChatModel(catalog, model, field) };
  if (auto[1] === undefined) return { useCase };
  if (!isChatUseCase(auto[1])) throw validationError(field, `unknown use case ${auto[1]}`);
  return { useCase: auto[1] };
}

/** The request's tools and tool choice; a 400 naming `choiceField` when the choice cannot be met. */
export function toolsAndChoice(
  tools: readonly WireTool[] | undefined,
  choice: WireToolChoice | undefined,
  choiceField: string,
): Pick<LLMChatRequest, "tools" | "toolChoice"> {
  const converted = tools?.length ? toolsFromOpenAI(tools) : undefined;
  const toolChoice = choice === undefined ? undefined : toolChoiceFromOpenAI(choice);
  checkToolChoice(converted, toolChoice, choiceField);
  return { ...(converted ? { tools: converted } : {}), ...(toolChoice ? { toolChoice } : {}) };
}

/** A 400 naming `field` when `choice` forces a tool call that `tools` cannot meet. */
export function checkToolChoice(
  tools: readonly LLMTool[] | undefined,
  choice: LLMToolChoice | undefined,
  field: string,
): void {
  if (typeof choice === "object" && !tools?.some((t) => t.name === choice.name)) {
    throw validationError(field, `names ${choice.name}, which is not among the tools`);
  }
  if ((choice === "required" || typeof choice === "object") && !tools?.length) {
    throw validationError(field, "requires tools");
  }
}
