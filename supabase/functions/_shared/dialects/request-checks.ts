/**
 * The checks a chat body needs beyond its schema, the same in every dialect:
 * a model the catalog knows (and that chats), and a tool choice that names a
 * declared tool. They run with the body's other validation, before anything
 * is decrypted or stored.
 */
import { clipInput, validationError } from "../http/errors.ts";
import type { ModelCatalog } from "../llm/catalog.ts";
import type { LLMChatRequest } from "../llm/types.ts";
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

/** The request's tools and tool choice; a 400 naming `choiceField` when the choice cannot be met. */
export function toolsAndChoice(
  tools: readonly WireTool[] | undefined,
  choice: WireToolChoice | undefined,
  choiceField: string,
): Pick<LLMChatRequest, "tools" | "toolChoice"> {
  const converted = tools?.length ? toolsFromOpenAI(tools) : undefined;
  const toolChoice = choice === undefined ? undefined : toolChoiceFromOpenAI(choice);
  if (typeof toolChoice === "object" && !converted?.some((t) => t.name === toolChoice.name)) {
    throw validationError(choiceField, `names ${toolChoice.name}, which is not among the tools`);
  }
  if ((toolChoice === "required" || typeof toolChoice === "object") && !converted) {
    throw validationError(choiceField, "requires tools");
  }
  return { ...(converted ? { tools: converted } : {}), ...(toolChoice ? { toolChoice } : {}) };
}
