/** Turning a zod failure into the 400 every bad request gets: the first problem, with its field. */
import type { z } from "zod";
import { clipInput, validationError } from "../http/errors.ts";

/** Parses `value` with `schema` or throws a 400 `VALIDATION_ERROR` naming the field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = innermost(result.error.issues[0]);
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

type Issue = z.core.$ZodIssue;

/**
 * The issue that says what is wrong. A union (`content` as text or blocks)
 * fails as a whole with "Invalid input"; when only one of its branches had
 * the value's type, that branch's own first problem is the one to report,
 * at its full path.
 */
function innermost(issue: Issue): Issue {
  if (issue.code !== "invalid_union") return issue;
  const typed = issue.errors.filter((branch) =>
    branch.length > 0 && !(branch[0].code === "invalid_type" && branch[0].path.length === 0)
  );
  if (typed.length !== 1) return issue;
  const inner = innermost(typed[0][0]);
  return { ...inner, path: [...issue.path, ...inner.path] };
}
