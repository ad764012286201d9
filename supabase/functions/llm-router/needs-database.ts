/** What answers when a route needs the database and the deployment has none. */
import { HttpError } from "../_shared/http/errors.ts";

/** `value`, or a 503 saying how to configure the database it comes from. */
export function requireDb<T>(value: T | undefined): T {
  if (value === undefined) {
    throw new HttpError(503, "CONFIG_MISSING", "This needs the database: set SUPABASE_DB_URL", {
      missing: ["SUPABASE_DB_URL"],
    });
  }
  return value;
}
