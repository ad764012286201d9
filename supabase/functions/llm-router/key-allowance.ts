/**
 * A gateway key's allowance, checked at the door: a request that names a
 * model or asks for a use case outside it is a 403 with a code, after its
 * dialect read it and before any provider key is decrypted, any guard
 * counts it or any provider is called. Models the route would fall back to
 * are held to the allowance by the guards' gate (`guards/key-limits.ts`).
 */
import { clipInput, HttpError } from "../_shared/http/errors.ts";
import type { GatewayKeyGrant } from "../_shared/http/callers.ts";

/** What a request asks for, as its dialect normalized it. */
export interface AskedFor {
  /** The model it names; absent: the route chooses. */
  model?: string;
  /** The use case it names; absent: `routedUseCase` says which the route would take. */
  useCase?: string;
  /** The use case routing would choose (the agent's tier, else the default); read only when needed. */
  routedUseCase: () => Promise<string>;
}

/** Throws 403 MODEL_NOT_ALLOWED or USE_CASE_NOT_ALLOWED unless `key` allows what is asked for. */
export async function requireKeyAllows(key: GatewayKeyGrant, asked: AskedFor): Promise<void> {
  if (asked.model !== undefined && key.allowedModels && !key.allowedModels.includes(asked.model)) {
    throw new HttpError(
      403,
      "MODEL_NOT_ALLOWED",
      `This gateway key may not use ${clipInput(asked.model)}; it may use ${
        key.allowedModels.join(", ")
      }`,
      { model: asked.model },
    );
  }
  if (!key.allowedUseCases) return;
  const useCase = asked.useCase ?? await asked.routedUseCase();
  if (!key.allowedUseCases.includes(useCase)) {
    throw new HttpError(
      403,
      "USE_CASE_NOT_ALLOWED",
      `This gateway key may not be used for ${clipInput(useCase)}; it may be used for ${
        key.allowedUseCases.join(", ")
      }`,
      { useCase },
    );
  }
}
