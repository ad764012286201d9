/**
 * A minimal RESP2 client for a redis-server on a loopback TCP port: just what
 * the Upstash REST bridge (./bridge.ts) needs. Error replies are values, not
 * exceptions, so one failed command cannot fail the rest of its pipeline; bulk
 * strings stay raw bytes, so the bridge can pass binary values on untouched.
 */
import { errorMessage } from "../../supabase/functions/_shared/runtime/error-message.ts";

/** A Redis error reply (`-ERR …`), carried as a value inside a batch of replies. */
export class RespError {
  constructor(readonly message: string) {}
}

/**
 * One RESP2 reply: a simple string is a `string`, a bulk string a `Uint8Array`
 * (so status replies and data stay apart), an integer a `number`, nil bulk
 * strings and nil arrays `null`.
 */
export type RespReply = string | number | Uint8Array | RespError | null | RespReply[];

/** One command argument; numbers are sent as their decimal text. */
export type RespArg = string | number | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const LF = 10;

/** The wire bytes of `commands`, each as a RESP array of bulk strings. */
export function encodeCommands(commands: RespArg[][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const command of commands) {
    // Redis answers an empty array with nothing at all: replies would shift.
    if (command.length === 0) throw new Error("RESP: a command needs at least a name");
    parts.push(encoder.encode(`*${command.length}\r\n`));
    for (const arg of command) {
      const bytes = arg instanceof Uint8Array ? arg : encoder.encode(String(arg));
      parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"));
    }
  }
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const INCOMPLETE = Symbol("incomplete");

/**
 * An incremental RESP2 reply parser: feed it bytes as they arrive and it
 * returns every reply completed so far. Parsed bytes are never read twice
 * (open arrays wait on a stack), so a huge reply split over many reads costs
 * one pass.
 */
export class RespParser {
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #open: { items: RespReply[]; length: number }[] = [];

  /** Adds `chunk` and returns the replies it completes, in order. */
  push(chunk: Uint8Array): RespReply[] {
    this.#append(chunk);
    const replies: RespReply[] = [];
    for (let value = this.#next(); value !== INCOMPLETE; value = this.#next()) {
      // A finished value may finish its array, which may finish its parent.
      for (;;) {
        const parent = this.#open.at(-1);
        if (!parent) {
          replies.push(value);
          break;
        }
        parent.items.push(value);
        if (parent.items.length < parent.length) break;
        this.#open.pop();
        value = parent.items;
      }
    }
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      // Give back the memory of one huge reply instead of keeping it forever.
      if (this.#buf.length > 1024 * 1024) this.#buf = new Uint8Array(64 * 1024);
    }
    return replies;
  }

  #append(chunk: Uint8Array) {
    if (this.#end + chunk.length > this.#buf.length) {
      const used = this.#end - this.#start;
      const target = this.#buf.length >= used + chunk.length
        ? this.#buf
        : new Uint8Array(Math.max(2 * this.#buf.length, used + chunk.length));
      target.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = target;
      this.#start = 0;
      this.#end = used;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Index of the CR of the first CRLF at or after `from`, or -1 when it has not arrived. */
  #lineEnd(from: number): number {
    // Bytes past #end are stale: search only the filled part.
    const filled = this.#buf.subarray(0, this.#end);
    for (let i = filled.indexOf(CR, from); i >= 0; i = filled.indexOf(CR, i + 1)) {
      if (i + 1 >= this.#end) return -1;
      if (filled[i + 1] === LF) return i;
    }
    return -1;
  }

  /** The next scalar (or empty/nil array), opening non-empty arrays on the way. */
  #next(): RespReply | typeof INCOMPLETE {
    for (;;) {
      if (this.#start >= this.#end) return INCOMPLETE;
      const lineEnd = this.#lineEnd(this.#start);
      if (lineEnd < 0) return INCOMPLETE;
      const type = this.#buf[this.#start];
      const line = decoder.decode(this.#buf.subarray(this.#start + 1, lineEnd));
      const afterLine = lineEnd + 2;
      switch (type) {
        case 0x2b: // '+'
          this.#start = afterLine;
          return line;
        case 0x2d: // '-'
          this.#start = afterLine;
          return new RespError(line);
        case 0x3a: // ':'
          this.#start = afterLine;
          return integer(line);
        case 0x24: { // '$'
          const length = integer(line);
          if (length < 0) {
            this.#start = afterLine;
            return null;
          }
          // Leave the header unconsumed until the whole body is here: re-reading a header is cheap.
          if (this.#end < afterLine + length + 2) return INCOMPLETE;
          if (this.#buf[afterLine + length] !== CR || this.#buf[afterLine + length + 1] !== LF) {
            throw new Error("RESP protocol error: bulk string not followed by CRLF");
          }
          this.#start = afterLine + length + 2;
          return this.#buf.slice(afterLine, afterLine + length);
        }
        case 0x2a: { // '*'
          const length = integer(line);
          this.#start = afterLine;
          if (length < 0) return null;
          if (length === 0) return [];
          this.#open.push({ items: [], length });
          continue;
        }
        default:
          throw new Error(`RESP protocol error: unexpected type byte 0x${type.toString(16)}`);
      }
    }
  }
}

function integer(text: string): number {
  const value = Number(text);
  if (text === "" || !Number.isInteger(value)) {
    throw new Error(`RESP protocol error: bad integer ${JSON.stringify(text)}`);
  }
  return value;
}

interface Waiting {
  count: number;
  replies: RespReply[];
  resolve(replies: RespReply[]): void;
  reject(error: Error): void;
}

/**
 * One pipelined connection to Redis. Each `send` is written in one contiguous
 * piece and callers are answered in the order they sent, so concurrent
 * callers can share it; a MULTI…EXEC batch sent at once cannot interleave.
 * When the socket fails every waiting caller is rejected: nothing hangs.
 */
export class RespConnection {
  #conn: Deno.TcpConn;
  #parser = new RespParser();
  #waiting: Waiting[] = [];
  #writing: Promise<void> = Promise.resolve();
  #reading: Promise<void>;
  #failure: Error | undefined;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reading = this.#readLoop();
  }

  /** Connects to `hostname:port` (loopback by default). */
  static async connect(options: { port: number; hostname?: string }): Promise<RespConnection> {
    const conn = await Deno.connect({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port,
      transport: "tcp",
    });
    conn.setNoDelay(true);
    return new RespConnection(conn);
  }

  /** True once the connection failed or was closed; it never recovers. */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /** Batches written but not yet fully answered. */
  get inFlight(): number {
    return this.#waiting.length;
  }

  /** Sends `commands` in one write and resolves with their replies in order. */
  send(commands: RespArg[][]): Promise<RespReply[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (commands.length === 0) return Promise.resolve([]);
    let bytes: Uint8Array;
    try {
      bytes = encodeCommands(commands);
    } catch (error) {
      return Promise.reject(error);
    }
    const answered = new Promise<RespReply[]>((resolve, reject) => {
      this.#waiting.push({ count: commands.length, replies: [], resolve, reject });
    });
    // Chained so that a partial write of one batch is never followed by another batch's bytes.
    this.#writing = this.#writing.then(() => this.#writeAll(bytes));
    return answered;
  }

  /** Closes the socket; callers still waiting are rejected. */
  async close(): Promise<void> {
    this.#fail(new Error("RESP connection closed"));
    await this.#reading;
    await this.#writing;
  }

  async #writeAll(bytes: Uint8Array) {
    try {
      for (let offset = 0; offset < bytes.length && !this.#failure;) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    } catch (error) {
      this.#fail(asError(error, "write"));
    }
  }

  async #readLoop() {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) throw new Error("Redis closed the connection");
        for (const reply of this.#parser.push(chunk.subarray(0, n))) this.#deliver(reply);
      }
    } catch (error) {
      this.#fail(asError(error, "read"));
    }
  }

  #deliver(reply: RespReply) {
    const head = this.#waiting[0];
    if (!head) throw new Error("RESP protocol error: a reply nobody asked for");
    head.replies.push(reply);
    if (head.replies.length === head.count) {
      this.#waiting.shift();
      head.resolve(head.replies);
    }
  }

  #fail(error: Error) {
    if (this.#failure) return;
    this.#failure = error;
    for (const waiting of this.#waiting.splice(0)) waiting.reject(error);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

function asError(error: unknown, during: string): Error {
  const message = errorMessage(error);
  return new Error(`Redis connection failed during ${during}: ${message}`, { cause: error });
}
