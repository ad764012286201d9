/** What a llm-router route handler gets for one request. */
import type { Logger } from "../_shared/http/log.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import type { Caller } from "./callers.ts";

/** One authenticated request with its parsed JSON body. */
export interface RouterRequestContext {
  router: LLMRouter;
  caller: Caller;
  /** The JSON body (unvalidated), `{}` for GET. */
  body: Record<string, unknown>;
  /** Aborts when the caller disconnects. */
  signal: AbortSignal;
  /** `performance.now()` when the request arrived. */
  started: number;
  requestId: string;
  log: Logger;
  /** The account to act for: the caller's own, or `requested` if the caller may choose (else 403). */
  accountFor(requested: string | undefined): string | undefined;
}
