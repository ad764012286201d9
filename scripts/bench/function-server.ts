/**
 * One function, as Supabase runs it: its `index.ts` handler (which reads its
 * configuration from the process env on the first request), served on PORT
 * at `/functions/v1/<name>`. Its log lines go to stdout, as on Supabase; the
 * bench discards them.
 *
 * `deno run -A scripts/bench/function-server.ts <name>` with PORT and the
 * function's env set.
 */
const [name] = Deno.args;
const { handler } = await import(`../../supabase/functions/${name}/index.ts`) as {
  handler: (request: Request) => Promise<Response>;
};
Deno.serve(
  { hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")), onListen: () => {} },
  handler,
);
