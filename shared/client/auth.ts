/** Where the client's bearer comes from on each call. */
import type { RouterClientOptions } from "./types.ts";

/** Resolves the bearer for one call: `getToken` if given, else the supabase-js session's access token. */
export type TokenSource = () => Promise<string | undefined>;

/**
 * The token source of `options`. It is asked before every call (never
 * cached here), so a token supabase-js refreshed, or one `getToken` rotated,
 * is used from the next call on.
 */
export function tokenSource(
  options: Pick<RouterClientOptions, "getToken" | "supabase">,
): TokenSource {
  const { getToken, supabase } = options;
  if (getToken) return async () => (await getToken()) ?? undefined;
  if (supabase) {
    return async () => {
      const { data } = await supabase.auth.getSession();
      return data.session?.access_token ?? undefined;
    };
  }
  return () => Promise.resolve(undefined);
}
