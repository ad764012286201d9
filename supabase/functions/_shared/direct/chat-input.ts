/**
 * Validation of the body the direct functions accept. Hand-written rather than
 * zod so these user-facing functions load with no dependency at all.
 *
 * Body: `{ messages: [{role: "user"|"assistant", content: string}], temperature?, maxTokens? }`
 * plus whatever extra fields a function declares (the walkthrough's `context`).
 * System messages are refused: each function owns its system prompt.
 */
import { validationError } from "../http/errors.ts";

/** One conversation turn from the caller. */
export interface ChatTurn {
  role: "user" | "assistant";
  content: string;
}

/** The validated common part of a direct request. */
export interface DirectChatInput {
  messages: ChatTurn[];
  temperature?: number;
  maxTokens?: number;
}

/** Limits applied while validating. */
export interface ChatInputLimits {
  maxMessages: number;
  maxOutputTokens: number;
}

const COMMON_FIELDS = ["messages", "temperature", "maxTokens"];

/** Validates the common fields of `body`; `extraFields` are left to the caller. */
export function parseDirectChatInput(
  body: Record<string, unknown>,
  extraFields: readonly string[],
  limits: ChatInputLimits,
): DirectChatInput {
  for (const key of Object.keys(body)) {
    if (!COMMON_FIELDS.includes(key) && !extraFields.includes(key)) {
      const allowed = [...COMMON_FIELDS, ...extraFields].join(", ");
      throw validationError(key, `unknown field; allowed fields are ${allowed}`);
    }
  }
  const input: DirectChatInput = { messages: parseMessages(body.messages, limits.maxMessages) };
  if (body.temperature !== undefined) {
    const t = body.temperature;
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > 2) {
      throw validationError("temperature", "must be a number between 0 and 2");
    }
    input.temperature = t;
  }
  if (body.maxTokens !== undefined) {
    const m = body.maxTokens;
    if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || m > limits.maxOutputTokens) {
      throw validationError(
        "maxTokens",
        `must be an integer between 1 and ${limits.maxOutputTokens}`,
      );
    }
    input.maxTokens = m;
  }
  return input;
}

function parseMessages(value: unknown, maxMessages: number): ChatTurn[] {
  if (value === undefined || value === null) {
    throw validationError("messages", "is required: a non-empty array of {role, content}");
  }
  if (!Array.isArray(value)) throw validationError("messages", "must be an array");
  if (value.length === 0) throw validationError("messages", "must not be empty");
  if (value.length > maxMessages) {
    throw validationError("messages", `must have at most ${maxMessages} entries`);
  }
  return value.map((entry, index) => parseTurn(entry, `messages[${index}]`));
}

function parseTurn(entry: unknown, path: string): ChatTurn {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    throw validationError(path, "must be an object with role and content");
  }
  const { role, content, ...rest } = entry as Record<string, unknown>;
  const unknownKey = Object.keys(rest)[0];
  if (unknownKey !== undefined) {
    throw validationError(`${path}.${unknownKey}`, "unknown field; a message has role and content");
  }
  if (role === "system") {
    throw validationError(
      `${path}.role`,
      "system messages are set by the server; use user or assistant",
    );
  }
  if (role !== "user" && role !== "assistant") {
    throw validationError(`${path}.role`, "must be one of user, assistant");
  }
  if (typeof content !== "string") throw validationError(`${path}.content`, "must be a string");
  if (content.trim() === "") throw validationError(`${path}.content`, "must not be empty");
  return { role, content };
}
