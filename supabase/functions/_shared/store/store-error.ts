/**
 * The error a remote StateStore (Upstash, Postgres) rejects with when it could
 * not answer. Its message names the backend's reason (Redis's own words, a
 * SQLSTATE) and never a command's arguments, which may carry keys or values.
 */

/** A store call that failed; the message never carries the command's arguments. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}
