/**
 * Telling a statement the database refused from a database that could not
 * answer. Both drivers put the server's SQLSTATE on `code` (`postgres`'
 * PostgresError, PGlite's DatabaseError); a connection that failed carries a
 * driver or system code instead (CONNECTION_CLOSED, CONNECT_TIMEOUT,
 * ECONNREFUSED …) or none at all.
 */

/**
 * SQLSTATE classes in which the server refused the data itself: 22 data
 * exception (bad JSON, an unsupported Unicode escape, a number out of range),
 * 23 integrity constraint violation (not null, check), 54 program limit
 * exceeded (a value or statement too large). Sending the same rows again
 * fails the same way. Every other class (08 connection, 40 rollback, 53
 * resources, 57 operator intervention such as a statement timeout, 42 a
 * schema out of step with the code) says nothing against the rows.
 */
const REFUSED_CLASSES = new Set(["22", "23", "54"]);

/** The error's SQLSTATE (five characters) when it came from the server, else undefined. */
export function sqlState(error: unknown): string | undefined {
  const code = codeOf(error);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Whether the database refused the statement's data (so retrying the same rows cannot help). */
export function isRefusedByDatabase(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && REFUSED_CLASSES.has(state.slice(0, 2));
}

/**
 * A code that is safe to log for `error`: its SQLSTATE or driver code, else
 * the error's class name, else "unknown". Never the message, whose text may
 * quote a refused value (`invalid input syntax for type uuid: "…"`).
 */
export function dbErrorCode(error: unknown): string {
  const code = codeOf(error);
  if (code !== undefined && /^[A-Za-z0-9_]{1,40}$/.test(code)) return code;
  const name = error instanceof Error ? error.name : undefined;
  return name && /^[A-Za-z0-9_]{1,40}$/.test(name) ? name : "unknown";
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
