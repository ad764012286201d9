/** Account memberships from llm_account_members, for accounts a user's JWT does not name. */
import type { AccountRole, Memberships } from "../http/callers.ts";
import type { Db } from "../store/db.ts";
import { isUuid } from "./ids.ts";

/** Memberships read from `db` (a lookup failure counts as no membership). */
export function membershipsIn(db: Db): Memberships {
  return {
    role: async (userId, accountId) => {
      if (!isUuid(userId) || !isUuid(accountId)) return undefined;
      const rows = await db.query<{ role: AccountRole }>(
        "select role from llm_account_members where user_id = $1 and account_id = $2",
        [userId, accountId],
      ).catch(() => []);
      return rows[0]?.role;
    },
    accounts: async (userId) => {
      if (!isUuid(userId)) return [];
      const rows = await db.query<{ account_id: string; role: AccountRole }>(
        "select account_id, role from llm_account_members where user_id = $1 order by created_at",
        [userId],
      ).catch(() => []);
      return rows.map((row) => ({ accountId: row.account_id, role: row.role }));
    },
  };
}
