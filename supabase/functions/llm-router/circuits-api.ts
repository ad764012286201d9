/**
 * `POST /circuits/reset {provider, model, deployment?}`: the platform's
 * server code closes a provider/model circuit (the platform's, which every
 * account without keys of its own routes through), or one deployment's of a
 * model with deployments, for every isolate sharing the store. Audited;
 * llm-metrics shows it closed from then on.
 */
import { z } from "zod";
import { clipInput, jsonResponse, validationError } from "../_shared/http/errors.ts";
import { platformCircuitKey } from "../_shared/llm/circuit-key.ts";
import type { StoreCircuitBreakers } from "../_shared/guards/store-breakers.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";
import { LLMError } from "../_shared/llm/errors.ts";
import { parseOrThrow } from "../_shared/dialects/parse.ts";
import type { RequestContext } from "./context.ts";
import type { ChangeAudit } from "./change-audit.ts";
import { requireServerKey } from "./server-only.ts";
import type { Route } from "./routes.ts";

const circuitBody = z.strictObject({
  provider: z.string().min(1).max(64),
  model: z.string().min(1).max(200),
  /** One of the model's deployments (`LLM_DEPLOYMENTS`); absent: the model's own circuit. */
  deployment: z.string().min(1).max(64).optional(),
});

/** What the circuit route uses. */
export interface CircuitRoutesDeps {
  /** The circuits every router of the isolate uses, in the store. */
  circuits: StoreCircuitBreakers;
  /** The platform's router: its providers and catalog name what may be reset. */
  router: LLMRouter;
  audit: ChangeAudit;
  now: () => number;
}

/** `POST /circuits/reset`. */
export function circuitRoutes(deps: CircuitRoutesDeps): Route[] {
  return [{ method: "POST", pattern: "/circuits/reset", handler: (r) => resetCircuit(deps, r) }];
}

/** `POST /circuits/reset`: 400 naming `provider` or `model` when the pair is not in the catalog. */
async function resetCircuit(deps: CircuitRoutesDeps, request: RequestContext): Promise<Response> {
  requireServerKey(request.caller, "reset circuits");
  const { provider, model, deployment } = parseOrThrow(circuitBody, request.body);
  const { router, circuits } = deps;
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
  if (
    deployment !== undefined &&
    !router.deployments().some((d) => d.model === entry.id && d.deployment.name === deployment)
  ) {
    throw validationError(
      "deployment",
      `${clipInput(deployment)} is not a deployment of ${entry.id}`,
    );
  }
  let before;
  try {
    before = await circuits.reset(platformCircuitKey(provider, entry.id, deployment), deps.now());
  } catch (error) {
    throw new LLMError(
      "GUARD_UNAVAILABLE",
      `The circuit was not reset: the state store is unavailable: ${errorMessage(error)}`,
      { retryable: true },
    );
  }
  deps.audit.record(request, { role: "service" }, {
    action: "circuit.reset",
    target: `circuit:${provider}:${entry.id}${deployment !== undefined ? `@${deployment}` : ""}`,
    provider,
    model: entry.id,
    details: { previousState: before.state, ...(deployment !== undefined ? { deployment } : {}) },
  });
  return jsonResponse({
    provider,
    model: entry.id,
    ...(deployment !== undefined ? { deployment } : {}),
    state: "CLOSED",
    previousState: before.state,
  });
}
