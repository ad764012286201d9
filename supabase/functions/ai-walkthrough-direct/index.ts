/**
 * ai-walkthrough-direct: the step-by-step product guide, streamed straight
 * from OpenAI.
 *
 * POST `{messages, context: {productArea, step, userSees?, stepNumber?, totalSteps?}}`
 * with a user JWT → `text/event-stream` of OpenAI chat-completion chunks.
 */
import { createDirectHandler, DirectFunctionSpec } from "../_shared/direct/handler.ts";
import { processEnv } from "../_shared/runtime/env.ts";
import { jsonLogger } from "../_shared/runtime/log.ts";
import { serveIfEntry } from "../_shared/http/serve.ts";
import { parseWalkthroughContext, WalkthroughContext } from "./context.ts";
import { walkthroughSystemPrompt } from "./prompt.ts";

/** What ai-walkthrough-direct adds to the shared direct pipeline: the step context and its prompt. */
export const walkthroughDirectSpec: DirectFunctionSpec<WalkthroughContext> = {
  name: "ai-walkthrough-direct",
  modelEnv: "DIRECT_WALKTHROUGH_MODEL",
  extraFields: ["context"],
  parseExtra: parseWalkthroughContext,
  systemPrompt: walkthroughSystemPrompt,
};

/** The function's request handler. */
export const handler = createDirectHandler(walkthroughDirectSpec, {
  env: processEnv(),
  log: jsonLogger("ai-walkthrough-direct"),
});

serveIfEntry(import.meta.main, handler);
