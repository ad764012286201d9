/**
 * The fresh-process baseline: the smallest `Deno.serve` there is. The bench
 * times a process's start to its first answer for this and for a function.
 *
 * `deno run -A scripts/bench/hello.ts` with PORT set.
 */
Deno.serve(
  { hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")), onListen: () => {} },
  () => new Response("hello"),
);
