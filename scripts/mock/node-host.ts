/**
 * Hosts a Web-standard handler on `node:http` instead of `Deno.serve`, because
 * a mock provider must be able to do what `Deno.serve` cannot: drop a TCP
 * connection without answering, or in the middle of a body.
 */
import http from "node:http";
import { Buffer } from "node:buffer";

/** Returned by a handler to drop the connection without any answer. */
export const RESET = Symbol("reset");

/** Raised inside a response body stream to drop the connection mid-body. */
export class ConnectionReset extends Error {}

/** A handler that may answer, or reset the connection. `request.signal` aborts when the client leaves. */
export type ResettableHandler = (request: Request) => Promise<Response | typeof RESET>;

/** A running server. */
export interface HostedServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `handler` on `hostname:port` (0 = any free port). */
export function hostOnNodeHttp(
  handler: ResettableHandler,
  hostname: string,
  port: number,
): Promise<HostedServer> {
  const server = http.createServer(async (req, res) => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of req) chunks.push(chunk as Uint8Array);
    const clientGone = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) clientGone.abort();
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
      else if (Array.isArray(value)) headers.set(name, value.join(", "));
    }
    const method = req.method ?? "GET";
    const request = new Request(`http://${hostname}${req.url ?? "/"}`, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" || chunks.length === 0
        ? undefined
        : Buffer.concat(chunks),
      signal: clientGone.signal,
    });
    let response: Response | typeof RESET;
    try {
      response = await handler(request);
    } catch (error) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`mock provider crashed: ${error instanceof Error ? error.message : error}`);
      return;
    }
    if (response === RESET) {
      req.socket.destroy();
      return;
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) {
      res.end();
      return;
    }
    const reader = response.body.getReader();
    clientGone.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), {
      once: true,
    });
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        // Wait for each chunk to reach the socket, so a reset after it still delivers it.
        await new Promise<void>((resolve, reject) =>
          res.write(value, (error) => (error ? reject(error) : resolve()))
        );
      }
      res.end();
    } catch {
      // ConnectionReset (or any body failure): drop the socket so the client sees a broken read.
      req.socket.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : port;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
