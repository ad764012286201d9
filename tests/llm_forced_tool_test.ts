/**
 * A JSON schema through a forced tool call (`forced-tool.ts`): the request
 * gets the schema tool, and the answer gets the tool's arguments as its
 * content — the caller's own tool calls kept, renumbered, in a stream too.
 */
import assert from "node:assert/strict";
import {
  answerFromSchemaTool,
  eventsFromSchemaTool,
  schemaToolRequest,
} from "../supabase/functions/_shared/llm/forced-tool.ts";
import type { LLMChatRequest, LLMStreamEvent } from "../supabase/functions/_shared/llm/types.ts";
import { collect } from "./helpers/adapter-kit.ts";

const schema = { type: "object", properties: { a: { type: "string" } } };
const base: LLMChatRequest = {
  messages: [{ role: "user", content: "x" }],
  responseFormat: { type: "json_schema", name: "thing", schema },
};
const lookup = { name: "lookup", parameters: { type: "object" } };

Deno.test("forced tool: alone, the schema tool is named in tool_choice and the format leaves", () => {
  const { request, toolName } = schemaToolRequest(base);
  assert.equal(toolName, "json_output");
  assert.equal(request.responseFormat, undefined);
  assert.deepEqual(request.tools, [{
    name: "json_output",
    description: "Give the final answer (thing) as this function's arguments.",
    parameters: schema,
  }]);
  assert.deepEqual(request.toolChoice, { name: "json_output" });
});

Deno.test("forced tool: beside the caller's tools a call is required; a clashing name gets a suffix; none drops theirs", () => {
  const withTools = schemaToolRequest({
    ...base,
    tools: [lookup, { ...lookup, name: "json_output" }],
  });
  assert.equal(withTools.toolName, "json_output_1");
  assert.deepEqual(withTools.request.tools!.map((t) => t.name), [
    "lookup",
    "json_output",
    "json_output_1",
  ]);
  assert.equal(withTools.request.toolChoice, "required");

  const named = schemaToolRequest({ ...base, tools: [lookup], toolChoice: { name: "lookup" } });
  assert.deepEqual(named.request.toolChoice, { name: "lookup" });

  const none = schemaToolRequest({ ...base, tools: [lookup], toolChoice: "none" });
  assert.deepEqual(none.request.tools!.map((t) => t.name), ["json_output"]);
  assert.deepEqual(none.request.toolChoice, { name: "json_output" });
});

Deno.test("forced tool: a JSON answer's schema call becomes its text; the caller's calls stay", () => {
  const usage = { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0 };
  const answer = (toolCalls: { id: string; name: string; arguments: string }[]) => ({
    text: "",
    toolCalls,
    finishReason: "tool_calls" as const,
    usage,
    provider: "deepseek",
    model: "deepseek-chat",
  });
  const only = answerFromSchemaTool(
    answer([{ id: "1", name: "json_output", arguments: '{"a":"b"}' }]),
    "json_output",
  );
  assert.equal(only.text, '{"a":"b"}');
  assert.deepEqual(only.toolCalls, []);
  assert.equal(only.finishReason, "stop");

  const theirs = answerFromSchemaTool(
    answer([{ id: "2", name: "lookup", arguments: "{}" }]),
    "json_output",
  );
  assert.equal(theirs.text, "");
  assert.deepEqual(theirs.toolCalls.map((c) => c.name), ["lookup"]);
  assert.equal(theirs.finishReason, "tool_calls");
});

Deno.test("forced tool: in a stream the schema call's deltas are text; the caller's calls are renumbered from 0", async () => {
  const usage = { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0 };
  async function* upstream(): AsyncGenerator<LLMStreamEvent> {
    yield { type: "start", provider: "deepseek", model: "deepseek-chat" };
    yield { type: "tool-call-delta", index: 0, id: "c0", name: "json_output", argumentsDelta: "" };
    yield { type: "tool-call-delta", index: 0, argumentsDelta: '{"a":' };
    yield { type: "tool-call-delta", index: 1, id: "c1", name: "lookup", argumentsDelta: "{" };
    yield { type: "tool-call-delta", index: 0, argumentsDelta: '"b"}' };
    yield { type: "tool-call-delta", index: 1, argumentsDelta: "}" };
    yield { type: "finish", finishReason: "tool_calls", usage };
  }
  const events = await collect(eventsFromSchemaTool(upstream(), "json_output"));
  assert.deepEqual(events.slice(1), [
    { type: "text-delta", text: '{"a":' },
    { type: "tool-call-delta", index: 0, id: "c1", name: "lookup", argumentsDelta: "{" },
    { type: "text-delta", text: '"b"}' },
    { type: "tool-call-delta", index: 0, argumentsDelta: "}" },
    // A caller's call is left: still a tool-call finish.
    { type: "finish", finishReason: "tool_calls", usage },
  ]);

  async function* onlySchema(): AsyncGenerator<LLMStreamEvent> {
    yield {
      type: "tool-call-delta",
      index: 0,
      id: "c0",
      name: "json_output",
      argumentsDelta: "{}",
    };
    yield { type: "finish", finishReason: "tool_calls", usage };
  }
  const alone = await collect(eventsFromSchemaTool(onlySchema(), "json_output"));
  assert.deepEqual(alone, [
    { type: "text-delta", text: "{}" },
    { type: "finish", finishReason: "stop", usage },
  ]);
});
