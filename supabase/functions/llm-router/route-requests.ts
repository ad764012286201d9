/**
 * From a validated HTTP body to the router's `RouteRequest`: messages and
 * tools from OpenAI's format, routing fields, and the checks that need the
 * catalog (a known model, a tool_choice naming a declared tool).
 */
import { clipInput, validationError } from "../_shared/http/errors.ts";
import type { ModelCatalog, UseCase } from "../_shared/llm/catalog.ts";
import {
  messagesFromOpenAI,
  type OpenAIWireMessage,
  type OpenAIWireTool,
  type OpenAIWireToolChoice,
  toolChoiceFromOpenAI,
  toolsFromOpenAI,
} from "../_shared/llm/openai-wire.ts";
import type { RouteRequest } from "../_shared/llm/router.ts";
import type { LLMChatRequest, LLMMessage, LLMResponseFormat } from "../_shared/llm/types.ts";
import type { NativeChatBody, OpenAIChatBody } from "./schemas.ts";

type WireFormat = NonNullable<NativeChatBody["responseFormat"]>;

function responseFormatFrom(format: WireFormat | undefined): LLMResponseFormat | undefined {
  if (!format) return undefined;
  if (format.type !== "json_schema") return { type: format.type };
  return {
    type: "json_schema",
    name: format.json_schema.name,
    schema: format.json_schema.schema,
    ...(format.json_schema.strict ? { strict: true } : {}),
  };
}

function toolsAndChoice(
  tools: OpenAIWireTool[] | undefined,
  choice: OpenAIWireToolChoice | undefined,
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

function knownModel(catalog: ModelCatalog, id: string, field: string): string {
  const model = catalog.get(id);
  if (!model) {
    throw validationError(field, `unknown model ${clipInput(id)}; GET /v1/models lists them`);
  }
  if (!model.capabilities.chat) throw validationError(field, `${id} is not a chat model`);
  return id;
}

/** The router request for a native-API body. */
export function fromNativeBody(
  body: NativeChatBody,
  accountId: string | undefined,
  catalog: ModelCatalog,
): RouteRequest {
  if ((body.prompt === undefined) === (body.messages === undefined)) {
    throw validationError(
      body.prompt === undefined ? "messages" : "prompt",
      "send either prompt or messages, not both or neither",
    );
  }
  const messages: LLMMessage[] = [];
  if (body.systemPrompt) messages.push({ role: "system", content: body.systemPrompt });
  if (body.prompt !== undefined) messages.push({ role: "user", content: body.prompt });
  else messages.push(...messagesFromOpenAI(body.messages as OpenAIWireMessage[]));
  return {
    useCase: body.useCase as UseCase | undefined,
    tier: body.tier,
    agentId: body.agentId,
    accountId,
    modelOverride: body.modelOverride === undefined
      ? undefined
      : knownModel(catalog, body.modelOverride, "modelOverride"),
    summarizeTrimmed: body.summarizeTrimmed,
    chat: {
      messages,
      maxTokens: body.maxTokens,
      temperature: body.temperature,
      topP: body.topP,
      stop: body.stop,
      parallelToolCalls: body.parallelToolCalls,
      responseFormat: responseFormatFrom(body.responseFormat),
      ...toolsAndChoice(body.tools, body.toolChoice, "toolChoice"),
    },
  };
}

/**
 * The router request for an OpenAI-compatible body. `model` is a catalog
 * model (tried first, then its use case's chain), `auto`, or `auto:<useCase>`.
 */
export function fromOpenAIBody(
  body: OpenAIChatBody,
  accountId: string | undefined,
  catalog: ModelCatalog,
): RouteRequest {
  const auto = /^auto(?::([a-z]+))?$/.exec(body.model);
  let useCase = body.use_case as UseCase | undefined;
  let modelOverride: string | undefined;
  if (auto) {
    if (auto[1]) {
      if (!["draft", "summary", "complex", "vision", "general", "voice"].includes(auto[1])) {
        throw validationError("model", `unknown use case ${auto[1]}`);
      }
      useCase = auto[1] as UseCase;
    }
  } else {
    modelOverride = knownModel(catalog, body.model, "model");
  }
  const stop = body.stop == null
    ? undefined
    : typeof body.stop === "string"
    ? [body.stop]
    : body.stop;
  return {
    useCase,
    agentId: body.agent_id,
    accountId,
    modelOverride,
    chat: {
      messages: messagesFromOpenAI(body.messages as OpenAIWireMessage[]),
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      stop,
      parallelToolCalls: body.parallel_tool_calls,
      responseFormat: responseFormatFrom(body.response_format),
      user: body.user,
      ...toolsAndChoice(body.tools, body.tool_choice, "tool_choice"),
    },
  };
}
