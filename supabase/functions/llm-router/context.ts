/** What a llm-router route handler gets for one request: the door's facts, no services. */
import type { AccountAccess, Caller } from "../_shared/http/callers.ts";

/** One authenticated request with its parsed JSON body. */
export interface RequestContext {
  caller: Caller;
  /** Path parameters (`:agentId`, `:name`). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body (unvalidated), `{}` without one. */
  body: Record<string, unknown>;
  /** Aborts when the caller disconnects. */
  signal: AbortSignal;
  /** `performance.now()` when the request arrived. */
  started: number;
  requestId: string;
  /**
   * Headers every response carries (CORS, `x-request-id`); a handler that puts
   * them into its response returns it through `carriesCommonHeaders`. Absent
   * outside HTTP (tests building a context): the shell adds them.
   */
  commonHeaders?: Readonly<Record<string, string>>;
  /** The account to act for and the caller's role in it (403 when the caller may not). */
  access(requested: string | undefined): Promise<AccountAccess>;
}
