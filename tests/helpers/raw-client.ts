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
