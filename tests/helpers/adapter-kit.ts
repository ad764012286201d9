/** Shared helpers for the provider adapter tests: requests, draining streams, catching LLMErrors. */
import assert from "node:assert/strict";
import { MockProvider, startMockProvider } from "../../scripts/mock-provider.ts";
import { LLMError } from "../../supabase/functions/_shared/llm/errors.ts";
import type { LLMChatRequest, LLMStreamEvent } from "../../supabase/functions/_shared/llm/types.ts";

/** Call options for `model`, with a signal that never aborts unless one is given. */
export const callOptions = (model: string, signal = new AbortController().signal) => ({
  model,
  signal,
});

/** A one-turn request. */
export const ask = (text: string, extra: Partial<LLMChatRequest> = {}): LLMChatRequest => ({
  messages: [{ role: "user", content: text }],
  ...extra,
});

/** Every event of a stream that must succeed. */
export async function collect(events: AsyncIterable<LLMStreamEvent>): Promise<LLMStreamEvent[]> {
  const out: LLMStreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** Drains a stream that must fail; returns the error and the events seen before it. */
export async function failedStream(
  events: AsyncIterable<LLMStreamEvent>,
): Promise<{ error: LLMError; seen: LLMStreamEvent[] }> {
  const seen: LLMStreamEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
  } catch (error) {
    assert.ok(error instanceof LLMError, `expected LLMError, got ${error}`);
    return { error, seen };
  }
  throw new Error(`the stream finished: ${JSON.stringify(seen.at(-1))}`);
}

/** The LLMError `promise` rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<LLMError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LLMError, `expected LLMError, got ${error}`);
    return error;
  }
  throw new Error("the call succeeded");
}

/** Runs `fn` with a fresh mock provider, closed afterwards. */
export async function withMock(fn: (mock: MockProvider) => Promise<void>): Promise<void> {
  const mock = await startMockProvider();
  try {
    await fn(mock);
  } finally {
    await mock.close();
  }
}
