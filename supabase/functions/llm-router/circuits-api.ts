/**
 * `POST /circuits/reset {provider, model}`: the platform's server code closes
 * a provider/model circuit (the platform's, which every account without keys
 * of its own routes through), for every isolate sharing the store. Audited;
 * llm-metrics shows it closed from then on.
 */
import { z } from "zod";
import { clipInput, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { platformCircuitKey } from "../_shared/guards/store-breakers.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import type { RouterRequestContext } from "./context.ts";
import { auditChange } from "./audit-change.ts";
import { parseOrThrow } from "./validation.ts";
import { requireServerKey } from "./server-only.ts";

const circuitBody = z.strictObject({
  provider: z.string().min(1).max(64),
  model: z.string().min(1).max(200),
});

/** `POST /circuits/reset`: 400 naming `provider` or `model` when the pair is not in the catalog. */
export async function resetCircuit(context: RouterRequestContext): Promise<Response> {
  requireServerKey(context.caller, "reset circuits");
  const { provider, model } = parseOrThrow(circuitBody, context.body);
  const { router, circuits } = context.world;
  if (!router.providers().some(({ spec }) => spec.name === provider)) {
    throw validationError("provider", `${clipInput(provider)} is not a known provider`);
  }
  const entry = router.catalog.get(model);
  if (!entry || entry.provider !== provider) {
    throw validationError(
      "model",
      entry
        ? `${clipInput(model)} is served by ${entry.provider}, not ${clipInput(provider)}`
        : `${clipInput(model)} is not a known model`,
    );
  }
  let before;
  try {
    before = await circuits.reset(platformCircuitKey(provider, entry.id), context.now());
  } catch (error) {
    throw new LLMError(
      "GUARD_UNAVAILABLE",
      `The circuit was not reset: the state store is unavailable: ${errorMessage(error)}`,
      { retryable: true },
    );
  }
  auditChange(context, { role: "service" }, {
    action: "circuit.reset",
    target: `circuit:${provider}:${entry.id}`,
    provider,
    model: entry.id,
    details: { previousState: before.state },
  });
  return jsonResponse({
    provider,
    model: entry.id,
    state: "CLOSED",
    previousState: before.state,
  });
}
