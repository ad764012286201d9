/**
 * The route headers: `x-llm-warnings` and `x-llm-skipped` appear only when
 * there is something to say, name each skipped candidate with a short typed
 * reason, and stay printable and bounded however long the list.
 */
import assert from "node:assert/strict";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import type { RouteOutcome } from "../supabase/functions/_shared/llm/route-types.ts";
import {
  MAX_LIST_HEADER_CHARS,
  routeHeaders,
} from "../supabase/functions/llm-router/route-headers.ts";

const route: RouteOutcome = {
  provider: "openai",
  model: "gpt-4o-mini",
  attempts: 1,
  fallbackIndex: 0,
  source: "use-case",
  useCase: "general",
  trimmedMessages: 0,
  upstreamMs: 0,
  waitedMs: 0,
};

Deno.test("route headers: no warnings and no skips, no headers for them", () => {
  const headers = routeHeaders(route, 1);
  assert.equal("x-llm-warnings" in headers, false);
  assert.equal("x-llm-skipped" in headers, false);
  assert.equal(headers["x-llm-model"], "gpt-4o-mini");
});

Deno.test("route headers: warnings joined by '; ', skipped candidates as model=reason", () => {
  const headers = routeHeaders({
    ...route,
    warnings: ["reasoning ignored: gpt-4o-mini has no reasoning control", "thinking off"],
    skipped: [
      {
        model: "claude-haiku-4-5",
        reason: { kind: "missing-capability", capability: "structured-output" },
      },
      { model: "deepseek-chat", reason: { kind: "no-key", provider: "deepseek" } },
      {
        model: "mistral-large-latest",
        reason: { kind: "missing-capability", capability: "vision" },
      },
      { model: "gpt-4o", reason: { kind: "circuit-open" } },
      {
        model: "gpt-4.1",
        reason: { kind: "refused", error: new LLMError("PAYMENT_REQUIRED", "budget spent") },
      },
    ],
  }, 1);
  assert.equal(
    headers["x-llm-warnings"],
    "reasoning ignored: gpt-4o-mini has no reasoning control; thinking off",
  );
  assert.equal(
    headers["x-llm-skipped"],
    "claude-haiku-4-5=no-structured-output, deepseek-chat=no-key, " +
      "mistral-large-latest=no-vision, gpt-4o=circuit-open, gpt-4.1=refused-PAYMENT_REQUIRED",
  );
});

Deno.test("route headers: a long list is cut at whole items and says how many more there were", () => {
  const skipped = Array.from({ length: 200 }, (_, i) => ({
    model: `model-with-a-long-name-${i}`,
    reason: { kind: "no-key" as const, provider: "somewhere" },
  }));
  const value = routeHeaders({ ...route, skipped }, 1)["x-llm-skipped"];
  assert.ok(value.length <= MAX_LIST_HEADER_CHARS);
  const items = value.split(", ");
  const more = /^\+(\d+) more$/.exec(items.at(-1)!);
  assert.ok(more, value);
  assert.equal(items.length - 1 + Number(more[1]), 200);
  assert.ok(items.slice(0, -1).every((item, i) => item === `model-with-a-long-name-${i}=no-key`));
});

Deno.test("route headers: anything but printable ASCII is replaced, so the header stays valid", () => {
  const headers = routeHeaders({ ...route, warnings: ["café\nnext"] }, 1);
  assert.equal(headers["x-llm-warnings"], "caf??next");
  // A real Headers object accepts it.
  assert.equal(new Headers(headers).get("x-llm-warnings"), "caf??next");
});
