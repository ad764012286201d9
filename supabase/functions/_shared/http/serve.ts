/**
 * Starting a function's server only when it is the program's entry, so the
 * dev server and tests can import a function's handler without binding a port.
 */

/** A Web-standard request handler, as `Deno.serve` takes. */
export type Handler = (request: Request) => Response | Promise<Response>;

/**
 * Calls `Deno.serve(handler)` when `isMain` (pass `import.meta.main`) or when
 * running inside Supabase's Edge Runtime, whose worker loader owns the module.
 */
export function serveIfEntry(isMain: boolean, handler: Handler): void {
  if (isMain || "EdgeRuntime" in globalThis) Deno.serve(handler);
}
