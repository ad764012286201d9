/**
 * The benchmark's baseline gateway: a bare Deno pass-through proxy that
 * forwards each request to `UPSTREAM` and streams the answer back, with no
 * parsing, auth or routing. Whatever the real functions cost beyond this is
 * their own overhead.
 *
 * `deno run -A scripts/bench/bare-proxy.ts` with UPSTREAM and PORT set.
 */
const upstream = Deno.env.get("UPSTREAM") ?? "http://127.0.0.1:54399";
const port = Number(Deno.env.get("PORT") ?? 54398);

Deno.serve(
  { hostname: "127.0.0.1", port, onListen: () => console.log("ready") },
  async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    const answer = await fetch(upstream + url.pathname, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  },
);
