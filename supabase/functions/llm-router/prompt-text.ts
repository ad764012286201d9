/** The prompt as audit text, for deployments that audit prompts (LLM_AUDIT_PROMPTS). */
import type { LLMMessage } from "../_shared/llm/types.ts";
import { redactSecrets } from "../_shared/runtime/redact.ts";

/** At most this many characters of a prompt are audited: the audit row is a record, not an archive. */
const MAX_AUDITED_CHARS = 4_000;

/** `role: text` lines of `messages` (images as `[image]`), secrets redacted, truncated. */
export function promptText(messages: readonly LLMMessage[]): string {
  const lines: string[] = [];
  let length = 0;
  for (const message of messages) {
    const content = typeof message.content === "string"
      ? message.content
      : (message.content ?? []).map((part) => part.type === "text" ? part.text : "[image]").join(
        " ",
      );
    const line = `${message.role}: ${content}`;
    lines.push(line);
    length += line.length + 1;
    if (length > MAX_AUDITED_CHARS) break;
  }
  return redactSecrets(lines.join("\n").slice(0, MAX_AUDITED_CHARS));
}
