/**
 * The OpenAI wire protocol: `POST /v1/chat/completions` (JSON and SSE, usage
 * chunk, tool calls incl. parallel, `reasoning_effort` with reasoning tokens,
 * DeepSeek-style `reasoning_content` from models named `*reasoner*`),
 * `POST /v1/embeddings` (float and base64), `GET /v1/models`.
 */
import { SseEvent } from "../../supabase/functions/_shared/runtime/sse.ts";
import {
  chooseTools,
  embedText,
  estimateTokens,
  MockTool,
  replyWords,
  sampleFromSchema,
  thinkingText,
  ToolMode,
  vectorToBase64,
  wordPieces,
} from "./content.ts";
import { MOCK_CREATED, MockContext } from "./context.ts";
import { playJson, playSse } from "./sse-script.ts";

type Json = Record<string, unknown>;

/** An OpenAI-shaped error response. */
export function openAIError(
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ error: { message, type, param: null, code } }, { status, headers });
}

/** The error body an injected `status=N` fault produces. */
export function openAIFaultError(
  status: number,
  code: string | undefined,
  retryAfter: string | undefined,
): Response {
  const headers: Record<string, string> = retryAfter ? { "retry-after": retryAfter } : {};
  if (status === 429) {
    return openAIError(
      429,
      "Rate limit reached for requests (mock)",
      "requests",
      code ?? "rate_limit_exceeded",
      headers,
    );
  }
  if (status === 401) {
    return openAIError(
      401,
      "Incorrect API key provided (mock)",
      "invalid_request_error",
      code ?? "invalid_api_key",
      headers,
    );
  }
  if (status === 400 && code === "context_length_exceeded") {
    return openAIError(
      400,
      "This model's maximum context length is 128000 tokens (mock)",
      "invalid_request_error",
      code,
      headers,
    );
  }
  if (status < 500) {
    return openAIError(
      status,
      `Mock error ${status}`,
      "invalid_request_error",
      code ?? null,
      headers,
    );
  }
  return openAIError(
    status,
    "The server had an error while processing your request (mock)",
    "server_error",
    code ?? null,
    headers,
  );
}

interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: unknown;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((
      part,
    ) => (part && typeof part === "object" && (part as Json).type === "text"
      ? String((part as Json).text ?? "")
      : "")
    ).join(" ");
  }
  return "";
}

/** Handles `POST /v1/chat/completions`. */
export function chatCompletions(body: Json, ctx: MockContext): Response {
  if (typeof body.model !== "string" || body.model === "") {
    return openAIError(400, "you must provide a model parameter", "invalid_request_error", null);
  }
  const messages = body.messages as ChatMessage[] | undefined;
  if (!Array.isArray(messages) || messages.length === 0) {
    return openAIError(400, "'messages' must be a non-empty array", "invalid_request_error", null);
  }
  const model = ctx.record.model!;
  const effort = body.reasoning_effort;
  if (effort != null) {
    if (typeof effort !== "string" || !(effort in REASONING_TOKENS)) {
      return openAIError(
        400,
        `Invalid value for 'reasoning_effort': ${JSON.stringify(effort)}`,
        "invalid_request_error",
        "invalid_value",
      );
    }
    if (/^gpt-4/.test(model)) {
      return openAIError(
        400,
        "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
        "invalid_request_error",
        "unsupported_parameter",
      );
    }
  }
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const prompt = textOf(lastUser?.content);
  // Reasoning text comes back only from DeepSeek-style models; OpenAI's stays hidden.
  const reasoningContent = model.includes("reasoner") ? thinkingText(prompt) : "";
  const reasoningTokens = (typeof effort === "string" ? REASONING_TOKENS[effort] : 0) +
    (reasoningContent ? estimateTokens(reasoningContent) : 0);
  const tools: MockTool[] = Array.isArray(body.tools)
    ? (body.tools as Json[]).map((t) => {
      const fn = (t.function ?? {}) as Json;
      return { name: String(fn.name), schema: (fn.parameters ?? {}) as Json };
    })
    : [];
  const calls = chooseTools(
    tools,
    toolMode(body.tool_choice),
    prompt,
    body.parallel_tool_calls !== false,
    messages[messages.length - 1].role === "tool",
  ).map((tool) => ({
    id: ctx.nextId("call_mock_"),
    name: tool.name,
    arguments: JSON.stringify(sampleFromSchema(tool.schema)),
  }));

  const limit = Number(body.max_completion_tokens ?? body.max_tokens ?? Infinity);
  const wanted = ctx.plan.words ?? ctx.defaultWords;
  let words = replyWords(prompt, Math.min(wanted, limit));
  let finish = calls.length > 0 ? "tool_calls" : wanted > limit ? "length" : "stop";
  const format = body.response_format as Json | undefined;
  if (
    calls.length === 0 && format && (format.type === "json_object" || format.type === "json_schema")
  ) {
    const schema = ((format.json_schema ?? {}) as Json).schema;
    words = [
      JSON.stringify(
        format.type === "json_schema" ? sampleFromSchema(schema) : { reply: words.join(" ") },
      ),
    ];
    finish = "stop";
  }
  const text = calls.length > 0 ? null : words.join(" ");

  const promptText = JSON.stringify(messages) + (tools.length ? JSON.stringify(body.tools) : "");
  const promptTokens = estimateTokens(promptText);
  const completionTokens = reasoningTokens +
    (calls.length > 0 ? estimateTokens(calls.map((c) => c.arguments).join("")) : words.length);
  const cachedTokens = promptCacheHit(messages, ctx);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  const id = ctx.nextId("chatcmpl-mock-");
  const base = { id, created: MOCK_CREATED, model, system_fingerprint: "fp_mock" };

  if (body.stream === true) {
    const includeUsage = (body.stream_options as Json | undefined)?.include_usage === true;
    const chunk = (delta: Json, finishReason: string | null) => ({
      ...base,
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const events: SseEvent[] = [{
      data: JSON.stringify(
        chunk({ role: "assistant", content: calls.length ? null : "", refusal: null }, null),
      ),
    }];
    for (const piece of reasoningContent ? wordPieces(reasoningContent.split(" ")) : []) {
      events.push({ data: JSON.stringify(chunk({ reasoning_content: piece }, null)) });
    }
    if (calls.length === 0) {
      for (const piece of wordPieces(words)) {
        events.push({ data: JSON.stringify(chunk({ content: piece }, null)) });
      }
    } else {
      calls.forEach((call, index) => {
        events.push({
          data: JSON.stringify(
            chunk({
              tool_calls: [{
                index,
                id: call.id,
                type: "function",
                function: { name: call.name, arguments: "" },
              }],
            }, null),
          ),
        });
        for (const piece of splitInThree(call.arguments)) {
          events.push({
            data: JSON.stringify(
              chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null),
            ),
          });
        }
      });
    }
    events.push({ data: JSON.stringify(chunk({}, finish)) });
    if (includeUsage) {
      events.push({
        data: JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage }),
      });
    }
    events.push({ data: "[DONE]" });
    return new Response(
      playSse({
        events,
        errorEvent: {
          data: JSON.stringify({
            error: {
              message: "The server had an error while processing your request (mock)",
              type: "server_error",
              param: null,
              code: null,
            },
          }),
        },
        onProgress: (n) => (ctx.record.eventsSent = n),
        onEnd: (outcome) => (ctx.record.outcome = outcome),
      }, ctx.plan),
      { headers: { "content-type": "text/event-stream; charset=utf-8", "x-request-id": id } },
    );
  }

  const message: Json = { role: "assistant", content: text, refusal: null, annotations: [] };
  if (reasoningContent) message.reasoning_content = reasoningContent;
  if (calls.length > 0) {
    message.tool_calls = calls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.arguments },
    }));
  }
  const json = JSON.stringify({
    ...base,
    object: "chat.completion",
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage,
    service_tier: "default",
  });
  return new Response(playJson(json, ctx.plan, (outcome) => (ctx.record.outcome = outcome)), {
    headers: { "content-type": "application/json", "x-request-id": id },
  });
}

/** Hidden reasoning tokens per `reasoning_effort` (billed as completion tokens). */
const REASONING_TOKENS: Record<string, number> = {
  none: 0,
  minimal: 8,
  low: 16,
  medium: 64,
  high: 256,
  xhigh: 512,
  max: 1024,
};

function toolMode(choice: unknown): ToolMode {
  if (choice === "none" || choice === "required" || choice === "auto") return { kind: choice };
  const name = ((choice as Json | undefined)?.function as Json | undefined)?.name;
  return typeof name === "string" ? { kind: "named", name } : { kind: "auto" };
}

function splitInThree(text: string): string[] {
  const step = Math.max(1, Math.ceil(text.length / 3));
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += step) parts.push(text.slice(i, i + step));
  return parts.length ? parts : [""];
}

/** OpenAI caches prompts of 1,024+ tokens automatically; the mock counts a repeated prefix as cached. */
function promptCacheHit(messages: ChatMessage[], ctx: MockContext): number {
  if (messages.length < 2) return 0;
  const prefix = JSON.stringify(messages.slice(0, -1));
  const tokens = estimateTokens(prefix);
  if (tokens < 1024) return 0;
  const key = `openai:${ctx.record.model}:${prefix}`;
  const hit = ctx.seenPrefixes.has(key);
  ctx.seenPrefixes.add(key);
  return hit ? Math.floor(tokens / 128) * 128 : 0;
}

/** Handles `POST /v1/embeddings`. */
export async function embeddings(body: Json, ctx: MockContext): Promise<Response> {
  if (typeof body.model !== "string" || body.model === "") {
    return openAIError(400, "you must provide a model parameter", "invalid_request_error", null);
  }
  const input = body.input;
  const inputs: string[] = typeof input === "string"
    ? [input]
    : Array.isArray(input) && input.length > 0
    ? input.map((item) => (typeof item === "string" ? item : JSON.stringify(item)))
    : [];
  if (inputs.length === 0 || inputs.some((text) => text === "")) {
    return openAIError(
      400,
      "'input' must be a non-empty string or array",
      "invalid_request_error",
      null,
    );
  }
  const model = ctx.record.model!;
  const dimensions = Number(body.dimensions) || (model.includes("large") ? 3072 : 1536);
  const base64 = body.encoding_format === "base64";
  const data = await Promise.all(inputs.map(async (text, index) => {
    const vector = await embedText(`${model}:${text}`, dimensions);
    return { object: "embedding", index, embedding: base64 ? vectorToBase64(vector) : vector };
  }));
  const tokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
  ctx.record.outcome = "completed";
  return Response.json({
    object: "list",
    data,
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

/** Handles `GET /v1/models`. */
export function models(ids: readonly string[]): Response {
  return Response.json({
    object: "list",
    data: ids.map((id) => ({
      id,
      object: "model",
      created: MOCK_CREATED,
      owned_by: "mock-provider",
    })),
  });
}
