/**
 * A Responses request's `instructions` and `input` as the gateway's
 * messages. The items one assistant turn is made of (its reasoning, its text,
 * its function calls) join one assistant message, as every provider wants a
 * turn; each `function_call_output` becomes the tool message answering its
 * call. What cannot be said statelessly (an `item_reference`, a `file_id`) is
 * a 400 naming the item.
 */
import { validationError } from "../http/errors.ts";
import type {
  LLMAssistantMessage,
  LLMContentPart,
  LLMMessage,
  LLMReasoningPart,
} from "../llm/types.ts";
import type { ResponsesContentPart, ResponsesInputItem } from "./openai-responses-schema.ts";

type Item<T extends ResponsesInputItem["type"]> = Extract<ResponsesInputItem, { type: T }>;

/** The conversation `instructions` and `input` describe, system text first. */
export function messagesFromResponses(
  instructions: string | null | undefined,
  input: string | readonly ResponsesInputItem[],
): LLMMessage[] {
  const messages: LLMMessage[] = instructions ? [{ role: "system", content: instructions }] : [];
  if (typeof input === "string") {
    messages.push({ role: "user", content: input });
    return messages;
  }
  const calls = new Set<string>();
  input.forEach((item, i) => {
    const field = `input[${i}]`;
    switch (item.type) {
      case "message":
        if (item.role === "assistant") {
          const text = textOf(item.content, `${field}.content`);
          if (text === "") return;
          // Text after the turn's calls would be reordered before them: it starts a turn of its own.
          const turn = assistantTurn(messages, (a) => !a.toolCalls?.length);
          turn.content = (turn.content ?? "") + text;
        } else {
          messages.push(
            item.role === "user"
              ? { role: "user", content: userContent(item.content, `${field}.content`) }
              : { role: "system", content: textOf(item.content, `${field}.content`) },
          );
        }
        return;
      case "reasoning": {
        const part = reasoningPart(item);
        if (!part) return;
        // Reasoning comes first in a turn: after text or calls it starts the next one.
        const turn = assistantTurn(messages, (a) => a.content === null && !a.toolCalls?.length);
        (turn.reasoning ??= []).push(part);
        return;
      }
      case "function_call":
        calls.add(item.call_id);
        (assistantTurn(messages, () => true).toolCalls ??= []).push({
          id: item.call_id,
          name: item.name,
          arguments: item.arguments,
        });
        return;
      case "function_call_output":
        if (!calls.has(item.call_id)) {
          throw validationError(`${field}.call_id`, "answers no function_call before it in input");
        }
        messages.push({
          role: "tool",
          toolCallId: item.call_id,
          content: textOf(item.output, `${field}.output`),
        });
        return;
      case "item_reference":
        throw validationError(
          field,
          "item references need stored responses, and the gateway keeps none: send the item " +
            "itself (clients such as the AI SDK do with store: false)",
        );
    }
  });
  return messages;
}

/** The open assistant turn when `joins` accepts it, else a new one. */
function assistantTurn(
  messages: LLMMessage[],
  joins: (turn: LLMAssistantMessage) => boolean,
): LLMAssistantMessage {
  const last = messages.at(-1);
  if (last?.role === "assistant" && joins(last)) return last;
  const turn: LLMAssistantMessage = { role: "assistant", content: null };
  messages.push(turn);
  return turn;
}

/**
 * A reasoning item as the provider returned it: a summary with the signature
 * as `encrypted_content` is a thinking block, an empty summary with
 * `encrypted_content` a redacted one (the shapes this dialect's answers use).
 */
function reasoningPart(item: Item<"reasoning">): LLMReasoningPart | undefined {
  const signature = item.encrypted_content ?? undefined;
  if (item.summary.length === 0) {
    return signature === undefined ? undefined : { type: "redacted_thinking", data: signature };
  }
  const text = item.summary.map((part) => part.text).join("");
  return { type: "thinking", text, ...(signature !== undefined ? { signature } : {}) };
}

/** Text content (a string or text parts); a 400 naming the part that is an image. */
function textOf(content: string | readonly ResponsesContentPart[], field: string): string {
  if (typeof content === "string") return content;
  return content.map((part, j) => {
    if (part.type === "input_image") throw validationError(`${field}[${j}]`, "only text goes here");
    return part.type === "refusal" ? part.refusal : part.text;
  }).join("");
}

/**
 * A user message's content: text, or text and image parts. One text part is
 * sent as plain text, as the other dialects send the same message, so the
 * provider sees (and bills) one request whichever dialect asked.
 */
function userContent(
  content: string | readonly ResponsesContentPart[],
  field: string,
): string | LLMContentPart[] {
  if (typeof content === "string") return content;
  if (content.length === 1 && content[0].type === "input_text") return content[0].text;
  return content.map((part, j): LLMContentPart => {
    if (part.type !== "input_image") {
      return { type: "text", text: part.type === "refusal" ? part.refusal : part.text };
    }
    if (!part.image_url) {
      throw validationError(
        `${field}[${j}].image_url`,
        "send the image as an https: or data: URL (stored files are not supported)",
      );
    }
    // "original" has no counterpart in other providers: the highest detail is the nearest.
    // "auto" is every provider's default (and the SDK's required value), so it is not sent.
    const detail = part.detail === "original"
      ? "high"
      : part.detail === "auto"
      ? undefined
      : part.detail;
    return { type: "image", url: part.image_url, ...(detail ? { detail } : {}) };
  });
}
