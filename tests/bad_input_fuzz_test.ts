/**
 * Bad input at every door: generated malformed bodies (broken JSON and
 * encodings, wrong types, lone surrogates and NUL bytes, deep nesting, huge
 * names and values, duplicate and prototype keys) sent to every POST/PUT
 * endpoint of all five functions on a real dev server. No answer may be a
 * 5xx, none may hang, every error is JSON with a code, and afterwards the
 * server still answers and its usage and audit queues are writing.
 */
import assert from "node:assert/strict";
import { startDevProcess } from "./helpers/process.ts";
import { malformedBodies, seededRandom } from "./helpers/malformed-bodies.ts";
import { signToken } from "./helpers/tokens.ts";

type Credential = "user" | "admin" | "service";

interface Endpoint {
  method: "POST" | "PUT";
  path: string;
  as: Credential;
  /** A valid body the malformed ones are made from. */
  seed: Record<string, unknown>;
}

const chat = [{ role: "user", content: "hi" }];

/** Every POST/PUT endpoint of the five functions. */
const ENDPOINTS: Endpoint[] = [
  { method: "POST", path: "ai-chat-direct", as: "user", seed: { messages: chat, maxTokens: 5 } },
  {
    method: "POST",
    path: "ai-walkthrough-direct",
    as: "user",
    seed: { messages: chat, context: { productArea: "Billing", step: "Add a card" } },
  },
  {
    method: "POST",
    path: "llm-router",
    as: "user",
    seed: { prompt: "hi", maxTokens: 5, agentId: "fuzz", useCase: "general", cache: true },
  },
  {
    method: "POST",
    path: "llm-router/v1/chat/completions",
    as: "user",
    seed: {
      model: "auto",
      messages: chat,
      max_tokens: 5,
      cache: true,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
    },
  },
  {
    method: "POST",
    path: "llm-router/v1/messages",
    as: "user",
    seed: {
      model: "auto",
      max_tokens: 5,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      tools: [{ name: "f", input_schema: { type: "object" } }],
      tool_choice: { type: "auto" },
    },
  },
  {
    method: "POST",
    path: "llm-router/v1/responses",
    as: "user",
    seed: {
      model: "auto",
      max_output_tokens: 16,
      instructions: "Be brief.",
      input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }],
      tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
      reasoning: { effort: "low" },
    },
  },
  {
    method: "POST",
    path: "llm-router/v1/messages/count_tokens",
    as: "user",
    seed: { model: "gpt-4o-mini", messages: chat },
  },
  {
    method: "POST",
    path: "llm-router/v1/embeddings",
    as: "user",
    seed: { model: "auto", input: ["hi", "there"] },
  },
  {
    method: "PUT",
    path: "llm-router/agents/fuzz-agent/preferences",
    as: "admin",
    seed: { model: "gpt-4o-mini", params: { temperature: 0.2, maxTokens: 50 }, fallbacks: [] },
  },
  {
    method: "PUT",
    path: "llm-router/providers/mistral/key",
    as: "admin",
    seed: { apiKey: "fuzz-key-0123456789abcdef" },
  },
  {
    method: "PUT",
    path: "llm-router/budgets",
    as: "admin",
    seed: { agentId: "fuzz", dailyLimitUsd: 5, timeZone: "UTC", alertThreshold: 0.8 },
  },
  {
    method: "PUT",
    path: "llm-router/rate-limits?accountId=00000000-0000-4000-8000-0000000000f1",
    as: "service",
    seed: { requestsPerSecond: 100, burst: 200, models: { "gpt-4o-mini": { rpm: 1000 } } },
  },
  {
    method: "POST",
    path: "llm-router/circuits/reset",
    as: "service",
    seed: { provider: "openai", model: "gpt-4o-mini" },
  },
  { method: "POST", path: "llm-router/jobs/run", as: "service", seed: { limit: 1, wait: true } },
  { method: "POST", path: "llm-router/jobs/sweep", as: "service", seed: { wait: true } },
  { method: "POST", path: "llm-health/check", as: "service", seed: {} },
  { method: "POST", path: "llm-metrics/reset", as: "service", seed: {} },
];

const PER_ENDPOINT = 60;
const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 20_000;

interface Outcome {
  endpoint: string;
  label: string;
  status: number;
  code?: string;
}

async function send(
  url: string,
  endpoint: Endpoint,
  token: string,
  label: string,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<Outcome> {
  const response = await fetch(url, {
    method: endpoint.method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: bytes,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  const outcome: Outcome = { endpoint: endpoint.path, label, status: response.status };
  if (response.status >= 400) {
    // Every refusal is JSON with a stable code, never prose or an HTML page.
    const body = JSON.parse(text);
    outcome.code = body.error?.code ?? body.error?.type;
  }
  return outcome;
}

async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>) {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    results.push(...await Promise.all(items.slice(i, i + size).map(work)));
  }
  return results;
}

Deno.test({
  name: "bad input: 500+ malformed bodies across every POST/PUT endpoint: no 5xx, no hang",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dev = await startDevProcess({ LLM_RATE_LIMIT_RPS: "0" });
    try {
      const tokens: Record<Credential, string> = {
        user: /user token:\s+(\S+)/.exec(dev.output)![1],
        admin: /admin token:\s+(\S+)/.exec(dev.output)![1],
        service: /service_role key:\s+(\S+)/.exec(dev.output)![1],
      };
      const random = seededRandom(20261130);
      const cases = ENDPOINTS.flatMap((endpoint) =>
        malformedBodies(endpoint.seed, PER_ENDPOINT, random).map((body) => ({ endpoint, body }))
      );
      assert.ok(cases.length >= 500, `only ${cases.length} cases`);

      const outcomes = await inBatches(cases, CONCURRENCY, ({ endpoint, body }) =>
        send(
          `${dev.url}/functions/v1/${endpoint.path}`,
          endpoint,
          tokens[endpoint.as],
          body.label,
          body.bytes,
        ).catch((error) => ({
          endpoint: endpoint.path,
          label: body.label,
          status: -1,
          code: String(error),
        })));

      const broken = outcomes.filter((o) => o.status < 200 || o.status >= 500);
      assert.deepEqual(broken, [], "every malformed body gets an answer below 500");
      const refusedWithoutCode = outcomes.filter((o) => o.status >= 400 && !o.code);
      assert.deepEqual(refusedWithoutCode, [], "every refusal carries a code");
      // The breakages were refused, not quietly accepted.
      assert.ok(outcomes.filter((o) => o.status === 400).length > cases.length / 2);

      // Still serving: a fresh account's request answers, and the usage queue writes.
      const stranger = await signToken({
        sub: "00000000-0000-4000-8000-00000000f0f0",
        iss: `${dev.url}/auth/v1`,
        app_metadata: { account_id: "00000000-0000-4000-8000-00000000f0f1" },
      });
      const answer = await fetch(`${dev.url}/functions/v1/llm-router`, {
        method: "POST",
        headers: { authorization: `Bearer ${stranger}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "still there?", maxTokens: 5 }),
      });
      assert.equal(answer.status, 200, await answer.clone().text());
      assert.equal((await answer.json()).success, true);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const health = await (await fetch(`${dev.url}/functions/v1/llm-router/health`)).json();
      assert.equal(health.usageQueue.failedWrites, 0, JSON.stringify(health.usageQueue));
      assert.ok(health.usageQueue.written > 0, JSON.stringify(health.usageQueue));
      assert.equal(health.usageQueue.queued, 0, JSON.stringify(health.usageQueue));
    } finally {
      await dev.stop();
    }
  },
});
