/** The account an account-scoped API request (preferences, keys, budgets) acts for. */
import { validationError } from "../_shared/http/errors.ts";
import { isUuid } from "../_shared/data/ids.ts";
import type { AccountAccess } from "../_shared/http/callers.ts";
import type { RequestContext } from "./context.ts";

/** The caller's account (or `?accountId=`), which must be a UUID the caller may act for. */
export async function accountOf(
  request: RequestContext,
): Promise<AccountAccess & { accountId: string }> {
  const access = await request.access(request.query.get("accountId") ?? undefined);
  if (!isUuid(access.accountId)) {
    throw validationError(
      "accountId",
      "must be the account's UUID (from app_metadata.account_id or ?accountId=)",
    );
  }
  return access as AccountAccess & { accountId: string };
}
