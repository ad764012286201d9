/**
 * OpenAI's Responses API under `/functions/v1/llm-router/v1`:
 * `POST /v1/responses`, the Responses dialect in front of the one chat
 * pipeline (guards, routing, budgets and records as for every entrance).
 * Nothing is stored, so reading a response back is a 404 that says so, in
 * OpenAI's error shape like every error here.
 */
import { HttpError } from "../_shared/http/errors.ts";
import { openAIErrorResponse } from "../_shared/dialects/openai-chat-render.ts";
import { openAIResponses } from "../_shared/dialects/openai-responses.ts";
import type { ChatPipeline } from "./chat-pipeline.ts";
import type { Route } from "./routes.ts";

/** `POST /v1/responses`, and `GET /v1/responses/:id` answering that none is kept. */
export function responsesRoutes(pipeline: ChatPipeline): Route[] {
  return [
    {
      method: "POST",
      pattern: "/v1/responses",
      handler: (request) => pipeline.respond(openAIResponses, request),
      errors: openAIResponses.errorResponse,
      gatewayKeys: true,
    },
    {
      method: "GET",
      pattern: "/v1/responses/:id",
      handler: () => {
        throw new HttpError(
          404,
          "RESPONSE_NOT_STORED",
          "The gateway keeps no responses (it is stateless): keep the output you were sent",
        );
      },
      errors: openAIErrorResponse,
      gatewayKeys: true,
    },
  ];
}
