/**
 * Tools on the server side: a registry of tools implemented in code, the
 * assembly of streamed tool-call deltas into whole calls, and the tool loop
 * (`maxSteps` > 1) that background jobs use. Over HTTP, tool calls are
 * returned to the caller instead.
 */
import type { LLMChatResponse, LLMMessage, LLMTool, LLMToolCall, LLMUsage } from "./types.ts";
import { errorMessage } from "../runtime/error-message.ts";

/** A tool implemented in code. */
export interface RegisteredTool {
  definition: LLMTool;
  /** Runs the tool; the result is sent back to the model as text (objects as JSON). */
  execute: (args: unknown, context: { signal: AbortSignal }) => Promise<unknown>;
}

/** Tools the router may run itself, by name. */
export class ToolRegistry {
  readonly #tools = new Map<string, RegisteredTool>();

  constructor(tools: readonly RegisteredTool[] = []) {
    for (const tool of tools) this.register(tool);
  }

  /** Adds (or replaces) a tool. */
  register(tool: RegisteredTool): this {
    this.#tools.set(tool.definition.name, tool);
    return this;
  }

  /** The tool called `name`, if registered. */
  get(name: string): RegisteredTool | undefined {
    return this.#tools.get(name);
  }

  /** Definitions of every registered tool, for the request's `tools`. */
  definitions(): LLMTool[] {
    return [...this.#tools.values()].map((tool) => tool.definition);
  }
}

/** Collects `tool-call-delta` events into complete calls, by index. */
export class ToolCallAssembler {
  readonly #calls: { id: string; name: string; arguments: string }[] = [];

  /** Adds one delta. */
  add(delta: { index: number; id?: string; name?: string; argumentsDelta: string }): void {
    const call = (this.#calls[delta.index] ??= { id: "", name: "", arguments: "" });
    if (delta.id) call.id = delta.id;
    if (delta.name) call.name = delta.name;
    call.arguments += delta.argumentsDelta;
  }

  /** The calls so far, in index order. */
  calls(): LLMToolCall[] {
    return this.#calls.filter(Boolean).map((call) => ({ ...call }));
  }
}

/** The result of a tool loop: the last answer, with usage summed over every step. */
export interface ToolLoopResult extends LLMChatResponse {
  steps: number;
  /** The conversation including every tool call and result, for callers that persist it. */
  messages: LLMMessage[];
}

/**
 * Runs the model, executes the registered tools it calls, feeds the results
 * back, and repeats until it answers without tool calls, calls a tool that
 * is not registered (returned to the caller), or `maxSteps` is reached.
 */
export async function runToolLoop(
  messages: LLMMessage[],
  registry: ToolRegistry,
  maxSteps: number,
  signal: AbortSignal,
  step: (messages: LLMMessage[]) => Promise<LLMChatResponse>,
): Promise<ToolLoopResult> {
  const conversation = [...messages];
  const usage: LLMUsage = {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
  };
  for (let steps = 1;; steps++) {
    const response = await step(conversation);
    usage.inputTokens += response.usage.inputTokens;
    usage.outputTokens += response.usage.outputTokens;
    usage.cachedInputTokens += response.usage.cachedInputTokens;
    usage.cacheWriteTokens += response.usage.cacheWriteTokens;
    if (response.usage.reasoningTokens) {
      usage.reasoningTokens = (usage.reasoningTokens ?? 0) + response.usage.reasoningTokens;
    }
    const done = response.toolCalls.length === 0 || steps >= maxSteps ||
      response.toolCalls.some((call) => !registry.get(call.name));
    if (done) return { ...response, usage, steps, messages: conversation };
    conversation.push({
      role: "assistant",
      content: response.text || null,
      toolCalls: response.toolCalls,
      // Claude wants its thinking back, signed and unchanged, with the tool results.
      ...(response.reasoning ? { reasoning: response.reasoning } : {}),
    });
    const results = await Promise.all(
      response.toolCalls.map((call) => execute(call, registry, signal)),
    );
    response.toolCalls.forEach((call, index) =>
      conversation.push({ role: "tool", toolCallId: call.id, content: results[index] })
    );
  }
}

async function execute(
  call: LLMToolCall,
  registry: ToolRegistry,
  signal: AbortSignal,
): Promise<string> {
  let args: unknown;
  try {
    args = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments);
  } catch {
    // Tell the model, so it can correct itself on the next step.
    return JSON.stringify({ error: `arguments for ${call.name} are not valid JSON` });
  }
  try {
    const result = await registry.get(call.name)!.execute(args, { signal });
    return typeof result === "string" ? result : JSON.stringify(result);
  } catch (error) {
    return JSON.stringify({ error: errorMessage(error) });
  }
}
