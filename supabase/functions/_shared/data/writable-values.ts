/**
 * Values Postgres will store. Text that JavaScript holds happily can still be
 * refused: a lone surrogate serializes as `\ud800`, which jsonb rejects, and
 * text columns cannot hold NUL. Queued rows pass through these when the
 * database refused them, so one odd string costs a character, not the row.
 */

/** Longest text kept in a repaired column (UTF-16 units): ids, names and codes are far shorter. */
export const MAX_REPAIRED_TEXT = 1_000;

/**
 * `value` as text Postgres accepts: lone surrogates replaced by U+FFFD, NUL
 * removed, cut to `maxLength` (a surrogate pair cut in half becomes U+FFFD).
 */
export function writableText(value: string, maxLength = MAX_REPAIRED_TEXT): string {
  const text = String(value).toWellFormed().replaceAll("\u0000", "");
  return text.length > maxLength ? text.slice(0, maxLength).toWellFormed() : text;
}

/** `writableText` for an optional value. */
export function writableOptionalText(value: string | undefined): string | undefined {
  return value === undefined ? undefined : writableText(value);
}

/** An ISO timestamp for `at`, or null (the database's now()) when it is missing or not a real time. */
export function writableTimestamp(at: number | undefined): string | null {
  if (at === undefined) return null;
  const date = new Date(at);
  // An invalid time would make the whole batch fail; losing its time is better than losing the row.
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
