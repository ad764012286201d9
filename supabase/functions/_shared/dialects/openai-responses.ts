/**
 * The OpenAI Responses dialect (`POST /functions/v1/llm-router/v1/responses`):
 * the official `openai` SDK's `responses.create` and `responses.stream` work
 * unchanged against it, whichever provider serves. `model` is a catalog model,
 * `auto` or `auto:<useCase>`, as in chat completions.
 *
 * Stateless: nothing is stored, so `previous_response_id`, `conversation`,
 * `background`, stored prompts, `item_reference` items and `store: true` are
 * 400s naming the field (`store: true` too, because a caller asking for a
 * stored response would otherwise learn only a turn later, from a failed
 * `previous_response_id` or `item_reference`, that nothing was kept). Errors
 * are OpenAI's `{error: {message, type, code, param}}` with the gateway's code.
 */
import type { ModelCatalog } from "../llm/catalog.ts";
import type { ChatDialect, NormalizedChat } from "./chat-dialect.ts";
import { isChatUseCase } from "./native-schema.ts";
import { openAIErrorResponse } from "./openai-chat-render.ts";
import { messagesFromResponses } from "./openai-responses-input.ts";
import { responsesRenderer } from "./openai-responses-render.ts";
import { type ResponsesBody, responsesBody } from "./openai-responses-schema.ts";
import type { ResponseEnvelope } from "./openai-responses-wire.ts";
import { responseFormatFromOpenAI } from "./openai-wire.ts";
import { parseOrThrow } from "./parse.ts";
import { modelRoute, toolsAndChoice } from "./request-checks.ts";
import type { WireResponseFormat, WireTool, WireToolChoice } from "./wire-schema.ts";

/** The Responses dialect. */
export const openAIResponses: ChatDialect = {
  api: "responses",
  read(raw, { catalog, requestId, now }) {
    const body = parseOrThrow(responsesBody, raw);
    return {
      chat: responsesRequest(body, catalog),
      render: responsesRenderer(envelopeOf(body, requestId, now)),
    };
  },
  errorResponse: openAIErrorResponse,
};

function responsesRequest(body: ResponsesBody, catalog: ModelCatalog): NormalizedChat {
  const format = body.text?.format;
  const effort = body.reasoning?.effort;
  return {
    route: {
      ...modelRoute(
        catalog,
        body.model,
        "model",
        isChatUseCase(body.use_case) ? body.use_case : undefined,
      ),
      agentId: body.agent_id,
      chat: {
        messages: messagesFromResponses(body.instructions, body.input),
        maxTokens: body.max_output_tokens ?? undefined,
        temperature: body.temperature ?? undefined,
        topP: body.top_p ?? undefined,
        parallelToolCalls: body.parallel_tool_calls ?? undefined,
        responseFormat: format && responseFormatFromOpenAI(wireFormat(format)),
        reasoning: effort ? { effort } : undefined,
        user: body.user,
        ...toolsAndChoice(body.tools?.map(wireTool), wireChoice(body.tool_choice), "tool_choice"),
      },
    },
    stream: body.stream === true,
    accountId: body.account_id,
    cache: body.cache,
  };
}

// Responses' tool, tool_choice and format shapes are chat completions' flattened: unflattened,
// they take the one conversion and check every dialect shares.

function wireTool(tool: NonNullable<ResponsesBody["tools"]>[number]): WireTool {
  return {
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      ...(tool.parameters ? { parameters: tool.parameters } : {}),
      ...(tool.strict ? { strict: true } : {}),
    },
  };
}

function wireChoice(choice: ResponsesBody["tool_choice"]): WireToolChoice | undefined {
  return typeof choice === "object"
    ? { type: "function", function: { name: choice.name } }
    : choice;
}

function wireFormat(
  format: NonNullable<NonNullable<ResponsesBody["text"]>["format"]>,
): WireResponseFormat {
  if (format.type !== "json_schema") return { type: format.type };
  const { type, ...schema } = format;
  return { type, json_schema: schema };
}

/** What the answer repeats of the request, as OpenAI's does. */
function envelopeOf(body: ResponsesBody, requestId: string, now: () => number): ResponseEnvelope {
  return {
    id: `resp_${requestId.replace(/[^A-Za-z0-9]/g, "").slice(0, 32)}`,
    created_at: Math.floor(now() / 1000),
    instructions: body.instructions ?? null,
    metadata: body.metadata ?? {},
    tools: (body.tools ?? []).map((tool) => ({
      type: "function",
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? null,
    })),
    tool_choice: body.tool_choice ?? "auto",
    text: { format: body.text?.format ?? { type: "text" } },
    reasoning: { effort: body.reasoning?.effort ?? null },
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    max_output_tokens: body.max_output_tokens ?? null,
    ...(body.user !== undefined ? { user: body.user } : {}),
  };
}
