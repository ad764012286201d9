/**
 * Server-sent events: an incremental decoder (per the WHATWG event-stream
 * grammar) and an encoder. Used to relay provider streams event by event and
 * by clients that read our streams.
 */

/** One dispatched event. `event` is absent for unnamed (`message`) events. */
export interface SseEvent {
  event?: string;
  data: string;
  id?: string;
}

/** Decodes an SSE byte stream chunk by chunk; keeps partial lines between pushes. */
export class SseDecoder {
  #text = new TextDecoder();
  #buffer = "";
  #data: string[] = [];
  #event: string | undefined;
  #id: string | undefined;

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.#buffer += typeof chunk === "string" ? chunk : this.#text.decode(chunk, { stream: true });
    return this.#drain(false);
  }

  /** Ends the stream; returns a final event only if the stream ended with a complete one. */
  flush(): SseEvent[] {
    this.#buffer += this.#text.decode();
    return this.#drain(true);
  }

  /** True when bytes of an unfinished event are buffered. */
  get hasPartialEvent(): boolean {
    return this.#buffer.length > 0 || this.#data.length > 0 || this.#event !== undefined;
  }

  #drain(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.#buffer;
    // Most streams use "\n" only; look for "\r" just when the buffer has one.
    const hasCarriageReturn = buffer.includes("\r");
    let start = 0;
    while (start < buffer.length) {
      let end = buffer.indexOf("\n", start);
      if (hasCarriageReturn) {
        const cr = buffer.indexOf("\r", start);
        if (cr !== -1 && (end === -1 || cr < end)) end = cr;
      }
      if (end === -1) break; // incomplete line
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
      if (buffer[end] === "\r" && end + 1 === buffer.length && !final) break;
      const line = buffer.slice(start, end);
      start = buffer[end] === "\r" && buffer[end + 1] === "\n" ? end + 2 : end + 1;
      const event = this.#line(line);
      if (event) events.push(event);
    }
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id") this.#id = value;
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    const hadData = this.#data.length > 0;
    const event: SseEvent = { data: this.#data.join("\n") };
    if (this.#event !== undefined) event.event = this.#event;
    if (this.#id !== undefined) event.id = this.#id;
    this.#data = [];
    this.#event = undefined;
    this.#id = undefined;
    return hadData ? event : undefined;
  }
}

/** Encodes one event as wire text, splitting multi-line data into `data:` lines. */
export function encodeSse(event: SseEvent): string {
  let out = "";
  if (event.event) out += `event: ${event.event}\n`;
  if (event.id) out += `id: ${event.id}\n`;
  for (const line of event.data.split("\n")) out += `data: ${line}\n`;
  return out + "\n";
}

/** Headers for an event-stream response that proxies must not buffer. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};
