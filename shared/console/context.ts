/** What every panel is given: the signed-in user's client and, for operators, a service-key one. */
import type { RouterClient } from "../client/mod.ts";

/** The signed-in world the panels share. */
export interface ConsoleContext {
  /** Calls as the signed-in user (supabase-js session token, refreshed). */
  client: RouterClient;
  /** Calls with the service key an operator typed in (kept in memory only), if any. */
  operator?: RouterClient;
  /** `${SUPABASE_URL}/functions/v1`. */
  functionsUrl: string;
  /** The user's current access token, for the direct functions' `streamChat`. */
  accessToken(): Promise<string>;
  /** Panels announce changes to each other here (`agents-changed`). */
  events: EventTarget;
}

/** Fired on `ConsoleContext.events` after an agent's preferences were saved. */
export const AGENTS_CHANGED = "agents-changed";
