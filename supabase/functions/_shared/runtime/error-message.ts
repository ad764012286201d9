/** The text of anything thrown. */

/** The message of an `Error`, else the thrown value as a string: for logs and error details. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
