/** How the console shows a failed call: the gateway's message and code, never a stack. */
import { LLMRouterError } from "../client/mod.ts";
import { errorMessage } from "../../supabase/functions/_shared/runtime/error-message.ts";

/** A one-line description of `error` for a reader. */
export function describeError(error: unknown): string {
  if (error instanceof LLMRouterError) {
    const id = error.requestId ? `, request ${error.requestId}` : "";
    return `${error.message} (${error.code}${error.status ? ` ${error.status}` : ""}${id})`;
  }
  if (error instanceof DOMException && error.name === "AbortError") return "Stopped.";
  return errorMessage(error);
}

/** True for a 403: the caller is signed in but not allowed (a member on an admin panel). */
export function isForbidden(error: unknown): error is LLMRouterError {
  return error instanceof LLMRouterError && error.status === 403;
}

/** The request field a 400 names (`params.temperature`, `fallbacks[0]`…), if any. */
export function errorField(error: unknown): string | undefined {
  if (!(error instanceof LLMRouterError) || error.status !== 400) return undefined;
  const field = (error.details as Record<string, unknown> | undefined)?.field;
  return typeof field === "string" ? field : undefined;
}
