/** llm-router's route table: method and path pattern (`:param` segments) to handler. */
import { validationError } from "../_shared/http/errors.ts";
import { textProblem } from "../_shared/http/request-text.ts";
import type { RouterRequestContext } from "./context.ts";
import { nativeChat } from "./native-api.ts";
import { chatCompletions, embeddings, models } from "./openai-api.ts";
import {
  deleteAgentPreferences,
  getAgentPreferences,
  listAgents,
  putAgentPreferences,
} from "./preferences-api.ts";
import { deleteProviderKey, listProviders, putProviderKey } from "./providers-api.ts";
import { runJobs, sweepJobs } from "./jobs-api.ts";
import {
  deleteBudget,
  deleteRateLimit,
  getBudgets,
  getRateLimit,
  putBudget,
  putRateLimit,
} from "./guards-api.ts";
import { getRateLimitStatus, resetRateLimit } from "./rate-limit-status-api.ts";
import { resetCircuit } from "./circuits-api.ts";

/** Longest path parameter (agent ids and provider names are at most 200 characters everywhere). */
const MAX_PARAM_CHARS = 200;

/** A route's handler. */
export type RouteHandler = (context: RouterRequestContext) => Response | Promise<Response>;

interface Route {
  method: string;
  pattern: string;
  handler: RouteHandler;
  /** Errors in OpenAI's shape (the /v1 API). */
  openAI?: boolean;
  /** Accepts the job secret as well as user and server credentials. */
  jobs?: boolean;
  /** A POST that takes no body (its input is the query): none is read, so `curl -X POST` works. */
  noBody?: boolean;
}

const ROUTES: Route[] = [
  { method: "POST", pattern: "/", handler: nativeChat },
  { method: "POST", pattern: "/v1/chat/completions", handler: chatCompletions, openAI: true },
  { method: "POST", pattern: "/v1/embeddings", handler: embeddings, openAI: true },
  { method: "GET", pattern: "/v1/models", handler: models, openAI: true },
  { method: "GET", pattern: "/agents", handler: listAgents },
  { method: "GET", pattern: "/agents/:agentId/preferences", handler: getAgentPreferences },
  { method: "PUT", pattern: "/agents/:agentId/preferences", handler: putAgentPreferences },
  { method: "DELETE", pattern: "/agents/:agentId/preferences", handler: deleteAgentPreferences },
  { method: "GET", pattern: "/providers", handler: listProviders },
  { method: "PUT", pattern: "/providers/:name/key", handler: putProviderKey },
  { method: "DELETE", pattern: "/providers/:name/key", handler: deleteProviderKey },
  { method: "GET", pattern: "/budgets", handler: getBudgets },
  { method: "PUT", pattern: "/budgets", handler: putBudget },
  { method: "DELETE", pattern: "/budgets", handler: deleteBudget },
  { method: "GET", pattern: "/rate-limits", handler: getRateLimit },
  { method: "PUT", pattern: "/rate-limits", handler: putRateLimit },
  { method: "DELETE", pattern: "/rate-limits", handler: deleteRateLimit },
  { method: "GET", pattern: "/rate-limits/status", handler: getRateLimitStatus },
  { method: "POST", pattern: "/rate-limits/reset", handler: resetRateLimit, noBody: true },
  { method: "POST", pattern: "/circuits/reset", handler: resetCircuit },
  { method: "POST", pattern: "/jobs/run", handler: runJobs, jobs: true },
  { method: "POST", pattern: "/jobs/sweep", handler: sweepJobs, jobs: true },
];

/** What matching a path found. */
export type RouteMatch =
  | { kind: "found"; route: Route; params: Record<string, string> }
  | { kind: "method"; allow: string }
  | { kind: "none" };

/**
 * Matches `method path` against the table. A path parameter must decode to
 * text obeying the request text rules: it reaches the database as an id, so
 * `/agents/%00/preferences` is a 400 naming it, never a query that fails.
 */
export function matchRoute(method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const raw = matchPattern(route.pattern, path);
    if (!raw) continue;
    if (route.method === method) return { kind: "found", route, params: decodeParams(raw) };
    allowed.push(route.method);
  }
  return allowed.length
    ? { kind: "method", allow: [...allowed, "OPTIONS"].join(", ") }
    : { kind: "none" };
}

/** The pattern's `:param` segments of `path`, still percent-encoded, or undefined when it does not match. */
function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const have = path.split("/");
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      if (have[i] === "") return undefined;
      params[want[i].slice(1)] = have[i];
    } else if (want[i] !== have[i]) {
      return undefined;
    }
  }
  return params;
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, encoded] of Object.entries(raw)) {
    let value: string;
    try {
      value = decodeURIComponent(encoded);
    } catch {
      throw validationError(name, "is not valid percent-encoded UTF-8");
    }
    const problem = textProblem(value, MAX_PARAM_CHARS);
    if (problem) throw validationError(name, problem);
    params[name] = value;
  }
  return params;
}
