/** Turning a zod failure into the 400 every bad request gets: the first problem, with its field. */
import type { z } from "zod";
import { clipInput, validationError } from "../http/errors.ts";

/** Parses `value` with `schema` or throws a 400 `VALIDATION_ERROR` naming the field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const keys = (issue as { keys?: string[] }).keys;
  const path = [...issue.path, ...(issue.code === "unrecognized_keys" && keys ? [keys[0]] : [])];
  const field = path.length === 0
    ? "body"
    : path.map((part, i) =>
      typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`
    ).join("");
  // The field path may hold a caller's key and zod's message may quote input: both are clipped.
  const message = issue.code === "unrecognized_keys"
    ? "unknown field"
    : clipInput(issue.message, 300);
  throw validationError(field, message);
}
