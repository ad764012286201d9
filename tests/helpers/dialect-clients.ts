/**
 * One conversation asked through each of llm-router's three OpenAI- and
 * Anthropic-dialect entrances by the official SDKs (chat completions and
 * Responses with `openai`, Messages with `@anthropic-ai/sdk`), streamed
 * through the SDKs' own stream helpers or not, and each answer read back
 * into one dialect-free description, so tests can say "the same answer,
 * described the same way, in every dialect".
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

/** The conversation, said once, for every dialect. */
export interface Conversation {
  model: string;
  system?: string;
  /** Mark the system prompt as a cached prefix (cache_control; no place for it in Responses). */
  cacheSystem?: boolean;
  user: string;
  /** A base64 PNG sent after the user's text. */
  imagePng?: string;
  tools?: { name: string; schema: Record<string, unknown> }[];
  maxTokens: number;
  /** Ask for reasoning: an effort (chat, Responses; Messages `output_config.effort`), or Claude's thinking budget in Messages. */
  reasoning?: { effort: "low"; messagesThinkingBudget?: number };
}

/** An answer as every dialect can say it. */
export interface DescribedAnswer {
  text: string;
  toolCalls: { name: string; args: unknown }[];
  stop: "end" | "length" | "tool";
  /** Input counts every prompt token, cached or not (Anthropic's own count excludes cached ones). */
  usage: { input: number; output: number; cacheRead: number; reasoning: number };
  /** The reasoning text, joined. */
  reasoning: string;
  /** Thinking signatures, where the dialect has a place for them (Messages, Responses). */
  signatures?: string[];
  /** Streams only: how many deltas carried tool-call arguments. */
  argumentDeltas?: number;
}

/** The dialects and how a description is got from each. */
export const DIALECTS = ["chat", "messages", "responses"] as const;
/** One of `DIALECTS`. */
export type Dialect = typeof DIALECTS[number];

/** Clients for one router URL. */
export interface DialectClients {
  openai: OpenAI;
  anthropic: Anthropic;
}

/** SDK clients pointed at llm-router (`routerUrl` = `…/functions/v1/llm-router`). */
export function dialectClients(routerUrl: string, token: string): DialectClients {
  return {
    openai: new OpenAI({ apiKey: token, baseURL: `${routerUrl}/v1`, maxRetries: 0 }),
    anthropic: new Anthropic({ apiKey: token, baseURL: routerUrl, maxRetries: 0 }),
  };
}

/** Asks `conversation` through `dialect`, streamed or not, and describes the answer. */
export function ask(
  clients: DialectClients,
  dialect: Dialect,
  conversation: Conversation,
  stream: boolean,
): Promise<DescribedAnswer> {
  switch (dialect) {
    case "chat":
      return stream
        ? streamChat(clients.openai, conversation)
        : jsonChat(clients.openai, conversation);
    case "messages":
      return stream
        ? streamMessages(clients.anthropic, conversation)
        : jsonMessages(clients.anthropic, conversation);
    case "responses":
      return stream
        ? streamResponses(clients.openai, conversation)
        : jsonResponses(clients.openai, conversation);
  }
}

/** What a stream said before it failed, and the failure's gateway code. */
export interface DescribedFailure {
  textBeforeError: string;
  code: string | undefined;
  status: number | undefined;
}

/** Asks `conversation` as a stream that is expected to fail mid-way; describes the failure. */
export async function askFailingStream(
  clients: DialectClients,
  dialect: Dialect,
  conversation: Conversation,
): Promise<DescribedFailure> {
  let text = "";
  try {
    if (dialect === "chat") {
      const stream = clients.openai.chat.completions.stream(chatBody(conversation));
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    } else if (dialect === "messages") {
      const stream = clients.anthropic.messages.stream(messagesBody(conversation));
      for await (const event of stream) {
        if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
          text += event.delta.text;
        }
      }
    } else {
      const stream = clients.openai.responses.stream(responsesBody(conversation));
      for await (const event of stream) {
        if (event.type === "response.output_text.delta") text += event.delta;
      }
    }
  } catch (error) {
    if (error instanceof Anthropic.APIError) {
      return {
        textBeforeError: text,
        code: (error as unknown as { errorCode?: string }).errorCode,
        status: error.status,
      };
    }
    if (error instanceof OpenAI.APIError) {
      return { textBeforeError: text, code: error.code ?? undefined, status: error.status };
    }
    throw error;
  }
  throw new Error(`${dialect}: the stream ended without an error`);
}

// ---------------------------------------------------------------- requests

function chatBody(
  c: Conversation,
): Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, "stream"> {
  const cacheMark = c.cacheSystem ? { cache_control: { type: "ephemeral" } } : {};
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
  if (c.system) {
    messages.push({
      role: "system",
      // cache_control on a content part: OpenRouter's and LiteLLM's extension, which llm-router takes.
      content: [
        { type: "text", text: c.system, ...cacheMark } as OpenAI.Chat.ChatCompletionContentPartText,
      ],
    });
  }
  messages.push({
    role: "user",
    content: c.imagePng
      ? [
        { type: "text", text: c.user },
        { type: "image_url", image_url: { url: `data:image/png;base64,${c.imagePng}` } },
      ]
      : c.user,
  });
  return {
    model: c.model,
    messages,
    max_tokens: c.maxTokens,
    ...(c.tools
      ? {
        tools: c.tools.map((t) => ({
          type: "function" as const,
          function: { name: t.name, parameters: t.schema },
        })),
      }
      : {}),
    ...(c.reasoning ? { reasoning_effort: c.reasoning.effort } : {}),
  };
}

function messagesBody(c: Conversation): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: c.model,
    max_tokens: c.maxTokens,
    ...(c.system
      ? {
        system: [{
          type: "text" as const,
          text: c.system,
          ...(c.cacheSystem ? { cache_control: { type: "ephemeral" as const } } : {}),
        }],
      }
      : {}),
    messages: [{
      role: "user",
      content: c.imagePng
        ? [
          { type: "text", text: c.user },
          { type: "image", source: { type: "base64", media_type: "image/png", data: c.imagePng } },
        ]
        : c.user,
    }],
    ...(c.tools
      ? {
        tools: c.tools.map((t) => ({
          name: t.name,
          input_schema: t.schema as Anthropic.Tool.InputSchema,
        })),
      }
      : {}),
    ...(c.reasoning?.messagesThinkingBudget
      ? {
        thinking: { type: "enabled" as const, budget_tokens: c.reasoning.messagesThinkingBudget },
      }
      : c.reasoning
      ? { output_config: { effort: c.reasoning.effort } }
      : {}),
  };
}

function responsesBody(
  c: Conversation,
): Omit<OpenAI.Responses.ResponseCreateParamsNonStreaming, "stream"> {
  return {
    model: c.model,
    max_output_tokens: c.maxTokens,
    ...(c.system ? { instructions: c.system } : {}),
    input: [{
      role: "user",
      content: [
        { type: "input_text", text: c.user },
        ...(c.imagePng
          ? [{
            type: "input_image" as const,
            image_url: `data:image/png;base64,${c.imagePng}`,
            detail: "auto" as const,
          }]
          : []),
      ],
    }],
    ...(c.tools
      ? {
        tools: c.tools.map((t) => ({
          type: "function" as const,
          name: t.name,
          parameters: t.schema,
          strict: false,
        })),
      }
      : {}),
    ...(c.reasoning ? { reasoning: { effort: c.reasoning.effort } } : {}),
  };
}

// ---------------------------------------------------------------- chat completions

const CHAT_STOP: Record<string, DescribedAnswer["stop"]> = {
  stop: "end",
  length: "length",
  tool_calls: "tool",
};

type ChatUsage = OpenAI.Completions.CompletionUsage | undefined | null;
const chatUsage = (usage: ChatUsage): DescribedAnswer["usage"] => ({
  input: usage?.prompt_tokens ?? -1,
  output: usage?.completion_tokens ?? -1,
  cacheRead: usage?.prompt_tokens_details?.cached_tokens ?? 0,
  reasoning: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
});

async function jsonChat(client: OpenAI, c: Conversation): Promise<DescribedAnswer> {
  const completion = await client.chat.completions.create(chatBody(c));
  const [choice] = completion.choices;
  const message = choice.message as typeof choice.message & { reasoning_content?: string };
  return {
    text: message.content ?? "",
    toolCalls: (message.tool_calls ?? []).map((call) => {
      if (call.type !== "function") throw new Error("not a function call");
      return { name: call.function.name, args: JSON.parse(call.function.arguments) };
    }),
    stop: CHAT_STOP[choice.finish_reason] ?? "end",
    usage: chatUsage(completion.usage),
    reasoning: message.reasoning_content ?? "",
  };
}

async function streamChat(client: OpenAI, c: Conversation): Promise<DescribedAnswer> {
  const stream = client.chat.completions.stream({
    ...chatBody(c),
    stream: true,
    stream_options: { include_usage: true },
  });
  let reasoning = "";
  let argumentDeltas = 0;
  let usage: ChatUsage;
  stream.on("chunk", (chunk) => {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      const delta = choice.delta as typeof choice.delta & { reasoning_content?: string };
      reasoning += delta.reasoning_content ?? "";
      argumentDeltas += delta.tool_calls?.filter((t) => t.function?.arguments).length ?? 0;
    }
  });
  const completion = await stream.finalChatCompletion();
  const [choice] = completion.choices;
  return {
    text: choice.message.content ?? "",
    toolCalls: (choice.message.tool_calls ?? []).map((call) => {
      if (call.type !== "function") throw new Error("not a function call");
      return { name: call.function.name, args: JSON.parse(call.function.arguments) };
    }),
    stop: CHAT_STOP[choice.finish_reason] ?? "end",
    usage: chatUsage(usage),
    reasoning,
    argumentDeltas,
  };
}

// ---------------------------------------------------------------- Messages

const MESSAGES_STOP: Record<string, DescribedAnswer["stop"]> = {
  end_turn: "end",
  stop_sequence: "end",
  max_tokens: "length",
  tool_use: "tool",
};

function describeMessage(message: Anthropic.Message): DescribedAnswer {
  const text = message.content.flatMap((b) => b.type === "text" ? [b.text] : []).join("");
  const thinking = message.content.flatMap((b) => b.type === "thinking" ? [b] : []);
  const { usage } = message;
  return {
    text,
    toolCalls: message.content.flatMap((b) =>
      b.type === "tool_use" ? [{ name: b.name, args: b.input }] : []
    ),
    stop: MESSAGES_STOP[message.stop_reason ?? "end_turn"],
    usage: {
      input: usage.input_tokens + (usage.cache_read_input_tokens ?? 0) +
        (usage.cache_creation_input_tokens ?? 0),
      output: usage.output_tokens,
      cacheRead: usage.cache_read_input_tokens ?? 0,
      reasoning: (usage as { output_tokens_details?: { thinking_tokens?: number } | null })
        .output_tokens_details?.thinking_tokens ?? 0,
    },
    reasoning: thinking.map((b) => b.thinking).join(""),
    signatures: thinking.map((b) => b.signature),
  };
}

async function jsonMessages(client: Anthropic, c: Conversation): Promise<DescribedAnswer> {
  return describeMessage(await client.messages.create(messagesBody(c)));
}

async function streamMessages(client: Anthropic, c: Conversation): Promise<DescribedAnswer> {
  const stream = client.messages.stream(messagesBody(c));
  let argumentDeltas = 0;
  stream.on("streamEvent", (event) => {
    if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") {
      argumentDeltas++;
    }
  });
  return { ...describeMessage(await stream.finalMessage()), argumentDeltas };
}

// ---------------------------------------------------------------- Responses

function describeResponse(response: OpenAI.Responses.Response): DescribedAnswer {
  const calls = response.output.flatMap((item) => item.type === "function_call" ? [item] : []);
  const reasoningItems = response.output.flatMap((item) => item.type === "reasoning" ? [item] : []);
  const usage = response.usage;
  return {
    text: response.output_text,
    toolCalls: calls.map((call) => ({ name: call.name, args: JSON.parse(call.arguments) })),
    stop: response.status === "incomplete" &&
        response.incomplete_details?.reason === "max_output_tokens"
      ? "length"
      : calls.length > 0
      ? "tool"
      : "end",
    usage: {
      input: usage?.input_tokens ?? -1,
      output: usage?.output_tokens ?? -1,
      cacheRead: usage?.input_tokens_details.cached_tokens ?? 0,
      reasoning: usage?.output_tokens_details.reasoning_tokens ?? 0,
    },
    reasoning: reasoningItems.flatMap((item) => item.summary.map((s) => s.text)).join(""),
    signatures: reasoningItems.flatMap((item) =>
      item.encrypted_content ? [item.encrypted_content] : []
    ),
  };
}

async function jsonResponses(client: OpenAI, c: Conversation): Promise<DescribedAnswer> {
  return describeResponse(await client.responses.create(responsesBody(c)));
}

async function streamResponses(client: OpenAI, c: Conversation): Promise<DescribedAnswer> {
  const stream = client.responses.stream(responsesBody(c));
  let argumentDeltas = 0;
  stream.on("response.function_call_arguments.delta", () => argumentDeltas++);
  return { ...describeResponse(await stream.finalResponse()), argumentDeltas };
}
