/**
 * A bare HTTP/1.1 client over TCP whose `close()` really closes the socket.
 * Tests of "the client went away" use it because `fetch`'s abort may leave the
 * pooled connection open, which the server cannot tell from a slow reader.
 */

/** An in-flight raw request. */
export interface RawRequest {
  /** Resolves with the first bytes the server sends. */
  firstBytes(): Promise<string>;
  /** Closes the TCP connection. */
  close(): void;
}

/** Sends a POST with a JSON body to `url` over a fresh connection. */
export async function rawPost(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<RawRequest> {
  const target = new URL(url);
  const conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
  const bytes = new TextEncoder().encode(body);
  const head = [
    `POST ${target.pathname} HTTP/1.1`,
    `host: ${target.host}`,
    `content-length: ${bytes.length}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(head));
  await conn.write(bytes);
  let closed = false;
  return {
    async firstBytes() {
      const buffer = new Uint8Array(16_384);
      const n = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    },
    close() {
      if (!closed) {
        closed = true;
        conn.close();
      }
    },
  };
}

/** A raw request whose body the test sends piece by piece. */
export interface RawTrickle extends RawRequest {
  /** Sends `text` as more of the body; false once the server has closed the connection. */
  send(text: string): Promise<boolean>;
}

/**
 * Opens a POST to `url` declaring a body of `contentLength` bytes and sends
 * only its head: a slow client, for tests of body deadlines.
 */
export async function rawPostHead(
  url: string,
  headers: Record<string, string>,
  contentLength: number,
): Promise<RawTrickle> {
  const target = new URL(url);
  const conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
  const head = [
    `POST ${target.pathname} HTTP/1.1`,
    `host: ${target.host}`,
    `content-length: ${contentLength}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(head));
  let closed = false;
  return {
    async send(text) {
      try {
        await conn.write(new TextEncoder().encode(text));
        return true;
      } catch {
        return false;
      }
    },
    async firstBytes() {
      const buffer = new Uint8Array(16_384);
      const n = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    },
    close() {
      if (!closed) {
        closed = true;
        conn.close();
      }
    },
  };
}
