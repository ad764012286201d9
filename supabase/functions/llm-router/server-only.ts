/** The operator's levers (rate limits, bucket and circuit resets): the platform's server code only. */
import { HttpError } from "../_shared/http/errors.ts";
import type { Caller } from "../_shared/http/callers.ts";

/** Throws 403 unless `caller` authenticated with a server key; `what` completes "may …". */
export function requireServerKey(caller: Caller, what: string): void {
  if (caller.kind === "service") return;
  throw new HttpError(
    403,
    "FORBIDDEN",
    `Only the platform's server code (a server key) may ${what}, not the account`,
  );
}
