/**
 * How llm-router authenticates a gateway key: the repository finds and
 * judges it on the world's clock, and a use is noted (at most once a minute
 * per key and isolate) off the hot path, never delaying the request.
 */
import type { GatewayKeyLookup } from "../_shared/http/callers.ts";
import type { GatewayKeyRepository } from "../_shared/data/gateway-keys.ts";
import type { WaitUntil } from "../_shared/runtime/background.ts";
import type { Logger } from "../_shared/runtime/log.ts";
import { errorMessage } from "../_shared/runtime/error-message.ts";

/** The lookup `authenticateCaller` uses for `llmk_` keys. */
export function gatewayKeyLookup(
  keys: GatewayKeyRepository,
  deps: { now: () => number; waitUntil: WaitUntil; log: Logger },
): GatewayKeyLookup {
  return async (secret) => {
    const verdict = await keys.verify(secret, deps.now());
    if ("grant" in verdict) {
      const keyId = verdict.grant.id;
      const noted = keys.noteUse(keyId, deps.now());
      if (noted) {
        deps.waitUntil(
          noted.catch((error) =>
            deps.log.warn("gateway_key_use_not_noted", { keyId, detail: errorMessage(error) })
          ),
        );
      }
    }
    return verdict;
  };
}
