/**
 * Removing secret-looking text before it leaves the process: error messages,
 * log lines, upstream error bodies. Provider messages echo keys back (OpenAI's
 * "Incorrect API key provided: sk-…"), so nothing upstream is trusted. These
 * patterns are the fallback for secrets nobody told us about; the secrets we
 * do know are scrubbed first, in every encoding, by a `SecretScrubber`.
 */

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // JWTs: three base64url segments, the first a JSON header.
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, "[redacted-jwt]"],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{6,}/gi, "Bearer [redacted]"],
  [/\bsk-ant-[A-Za-z0-9_-]{6,}/g, "sk-ant-[redacted]"],
  [/\bsk-proj-[A-Za-z0-9_-]{6,}/g, "sk-proj-[redacted]"],
  [/\bsk-[A-Za-z0-9_*-]{6,}/g, "sk-[redacted]"],
  [/\bgsk_[A-Za-z0-9]{10,}/g, "gsk_[redacted]"],
  [/\bxai-[A-Za-z0-9]{10,}/g, "xai-[redacted]"],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, "AIza[redacted]"],
  [/\bsb_secret_[A-Za-z0-9_-]{6,}/g, "sb_secret_[redacted]"],
  // The gateway's own keys; a listed prefix (`llmk_` and 7 characters) is too short to match.
  [/\bllmk_[A-Za-z0-9_-]{20,}/g, "llmk_[redacted]"],
  // Alert webhooks' signing secrets, and Slack webhook URLs, whose path is their secret.
  [/\bwhsec_[A-Za-z0-9_-]{10,}/g, "whsec_[redacted]"],
  [
    /\bhooks\.slack\.com\/(services|workflows|triggers)\/[^\s"'<>]+/gi,
    "hooks.slack.com/$1/[redacted]",
  ],
  // key=value and "key": "value" forms in URLs, headers and JSON.
  [
    /\b(api[_-]?key|x-api-key|access[_-]?token|secret|password|authorization)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]{4,}/gi,
    "$1$2[redacted]",
  ],
  // A masked key with a prefix none of the above knows (`acme_ab12****wxyz`): even its
  // visible edges are more of an unknown key than anyone needs to see.
  [/[A-Za-z0-9_-]{3,}(?:\*{4,}|•{4,})[A-Za-z0-9_-]*/g, "[redacted]"],
];

/** Cheap first look: text without any of these cannot match a pattern above. */
const MIGHT_HOLD_SECRET =
  /eyJ|bearer|sk-|gsk_|xai-|AIza|sb_secret_|llmk_|whsec_|hooks\.slack|key|token|secret|password|authorization|\*{4}|•{4}/i;

/** Returns `text` with every secret-looking token replaced by a marker. */
export function redactSecrets(text: string): string {
  // Log lines and messages are mostly ids and codes: skip the full scan for them.
  if (!MIGHT_HOLD_SECRET.test(text)) return text;
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A display form of a key: its last four characters only, e.g. `…cdef`.
 * Enough to tell two keys apart; a key's first characters are no
 * public prefix for a provider the gateway does not know, so none are shown.
 */
export function maskKey(key: string | undefined): string {
  if (!key) return "(not set)";
  if (key.length < 12) return "****";
  return `…${key.slice(-4)}`;
}
