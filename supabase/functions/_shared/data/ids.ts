/** Identifier checks shared by the data layer. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID (account and user ids in the database are). */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}
