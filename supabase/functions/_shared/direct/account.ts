/**
 * The account a direct request spends against, by llm-router's own rule
 * (`accountAccess` in http/callers.ts): the JWT's app_metadata.account_id,
 * else the user's only llm_account_members row, else the user's own id.
 * Memberships are cached in the StateStore, as guard settings are, so a
 * request costs no database round trip once the lookup is warm.
 */
import type { AuthenticatedUser } from "../http/auth.ts";
import { accountAccess, type Caller, type Memberships } from "../http/callers.ts";
import { membershipsIn } from "../data/memberships.ts";
import type { Db, Row } from "../store/db.ts";
import { cached, type StateStore } from "../store/state-store.ts";

/** The account of `user`; `memberships` absent (no database) means the JWT's, else the user's id. */
export async function accountOfUser(
  user: AuthenticatedUser,
  memberships?: Memberships,
): Promise<string> {
  const named = user.claims.app_metadata?.account_id;
  const caller: Caller = {
    kind: "user",
    userId: user.userId,
    accountId: typeof named === "string" ? named : undefined,
  };
  const access = await accountAccess(caller, undefined, memberships);
  return access.accountId ?? user.userId;
}

/**
 * Memberships read from `db` and kept in `store` for `ttlMs` (a membership
 * change reaches the direct path within that time). A lookup that failed
 * throws instead of reading as "no membership", and is not cached: a
 * database blip must not move a member's spend off the account's budget.
 */
export function cachedMemberships(db: Db, store: StateStore, ttlMs: number): Memberships {
  const direct = membershipsIn(db);
  return {
    accounts: (userId) =>
      cached(store, `memberships:${userId}`, ttlMs, async () => {
        let failure: { error: unknown } | undefined;
        // membershipsIn reads a failed query as no rows: this wrapper sees the failure first.
        const watched: Db = {
          query: <T extends Row>(text: string, params?: readonly unknown[]) =>
            db.query<T>(text, params).catch((error) => {
              failure = { error };
              throw error;
            }),
          transaction: (work) => db.transaction(work),
          exec: (script) => db.exec(script),
          close: () => db.close(),
        };
        const accounts = await membershipsIn(watched).accounts(userId);
        if (failure) throw failure.error;
        return accounts;
      }),
    // Only used to act for another account, which the direct functions never do.
    role: (userId, accountId) => direct.role(userId, accountId),
  };
}
