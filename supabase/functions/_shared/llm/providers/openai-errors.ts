/**
 * How OpenAI-compatible providers say what went wrong: an HTTP error body
 * `{error: {message, type, code}}` (some self-hosted servers send
 * `{error: "text"}` or the fields without the wrapper), or the same object
 * as an event inside a 200 stream.
 */
import { type ProviderErrorBody, textOf } from "./failures.ts";

type Fields = { message?: unknown; code?: unknown; type?: unknown };

/** What an OpenAI-shaped error body or stream error event says. */
export function readOpenAIError(body: unknown): ProviderErrorBody {
  if (!body || typeof body !== "object") return {};
  const wrapped = (body as { error?: unknown }).error;
  if (typeof wrapped === "string") return { message: textOf(wrapped) };
  const fields = (wrapped && typeof wrapped === "object" ? wrapped : body) as Fields;
  const providerCode = textOf(fields.code) ?? textOf(fields.type);
  return {
    message: textOf(fields.message),
    providerCode,
    status: streamErrorStatus(fields.code, providerCode),
  };
}

/**
 * An HTTP-like status for an error event sent inside a 200 stream, so it
 * classifies as what it is. OpenRouter puts the status itself in `code`;
 * anything unrecognised counts as a server failure, since the request was accepted.
 */
function streamErrorStatus(code: unknown, providerCode: string | undefined): number {
  if (typeof code === "number" && code >= 400 && code <= 599) return code;
  const text = providerCode ?? "";
  if (/rate_limit|insufficient_quota|^requests$|^tokens$/.test(text)) return 429;
  if (/context_length|invalid_request/.test(text)) return 400;
  if (/invalid_api_key|authentication/.test(text)) return 401;
  return 500;
}
