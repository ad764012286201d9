/** What a llm-router route handler gets for one request. */
import type { Logger } from "../_shared/runtime/log.ts";
import type { LLMRouter } from "../_shared/llm/router.ts";
import type { AccountAccess, Caller } from "../_shared/http/callers.ts";
import type { ReportBase, RequestReporter } from "./request-report.ts";
import type { RouterWorld } from "./world.ts";

/** One authenticated request with its parsed JSON body. */
export interface RouterRequestContext {
  world: RouterWorld;
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
  log: Logger;
  /** The world's clock (epoch ms). */
  now: () => number;
  /** The account to act for and the caller's role in it (403 when the caller may not). */
  access(requested: string | undefined): Promise<AccountAccess>;
  /** The router for `accountId`: a fresh one with the account's own keys when it has any. */
  routerFor(accountId: string | undefined): Promise<LLMRouter>;
  /** A reporter for a routed request of this context. */
  reporter(base: Omit<ReportBase, "requestId" | "caller">): RequestReporter;
}
