/**
 * The `event: error` that ends a stream failing after its first byte, so a
 * cut-off answer is never mistaken for a finished one. One encoder for every
 * stream the gateway writes (llm-router's dialects and the direct functions).
 */
import type { NativeStreamError } from "./native-schema.ts";
import { encodeSse } from "../runtime/sse.ts";

/** The SSE text of the error event for `error` (its code, safe message and whether to retry). */
export function streamErrorEvent(
  error: { code: string; message: string; retryable: boolean },
): string {
  const data: NativeStreamError = {
    error: { code: error.code, message: error.message, retryable: error.retryable },
  };
  return encodeSse({ event: "error", data: JSON.stringify(data) });
}
