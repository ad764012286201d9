/** Reading SSE responses in tests. */
import { SseDecoder, SseEvent } from "../../supabase/functions/_shared/runtime/sse.ts";

/** Reads the whole body of `response` as SSE events. */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  for await (const chunk of response.body!) events.push(...decoder.push(chunk));
  events.push(...decoder.flush());
  return events;
}

/** The assistant text carried by OpenAI chat-completion chunk events. */
export function openAIText(events: SseEvent[]): string {
  return events
    .filter((e) => e.event === undefined && e.data !== "[DONE]")
    .map((e) => JSON.parse(e.data).choices?.[0]?.delta?.content ?? "")
    .join("");
}
