/**
 * The console page (`shared/console/`) as files a browser loads: its
 * TypeScript bundled into one browser module by `deno bundle`, beside its
 * HTML and CSS. `deno task dev` serves a cached build at `/` with a
 * `config.json` naming the local project; `deno task console:build` writes
 * the same files to a folder any static host can serve.
 *
 * Run alone: `deno run -A scripts/dev/console-assets.ts [--out DIR] [--url URL --anon-key KEY]`.
 */
import { errorMessage } from "../../supabase/functions/_shared/runtime/error-message.ts";
import type { ServedConfig } from "../../shared/console/project.ts";
import { LOCAL_PASSWORD, LOCAL_USERS } from "./local-auth.ts";

/** The repository root. */
const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const SOURCE_DIR = `${ROOT}/shared/console`;
const ENTRY = `${SOURCE_DIR}/main.ts`;
/** Files of the page copied as they are; `console.js` is the bundle. */
const PAGE_FILES = ["index.html", "console.css"];
/** Where `deno task dev` keeps its builds, one folder per source hash. */
const DEFAULT_CACHE = `${ROOT}/.cache/console`;

const CONTENT_TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "console.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
};

/** Runs the Deno binary running this script with `args` in the repository; stdout on success. */
async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`deno ${args[0]} failed:\n${text.slice(-2000)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Bundles the page into `outDir` (created if missing): console.js, index.html, console.css. */
export async function buildConsole(outDir: string): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  await deno([
    "bundle",
    "--config",
    `${ROOT}/deno.json`,
    "--platform",
    "browser",
    "--minify",
    "-o",
    `${outDir}/console.js`,
    ENTRY,
  ]);
  for (const name of PAGE_FILES) await Deno.copyFile(`${SOURCE_DIR}/${name}`, `${outDir}/${name}`);
}

/**
 * A hash of everything the build depends on: the Deno version, every local
 * module the page's graph reaches (from `deno info`, so a change in the SDK or
 * a shared schema counts), the page files and the npm packages resolved.
 */
async function sourceHash(): Promise<string> {
  const info = JSON.parse(
    await deno(["info", "--json", "--config", `${ROOT}/deno.json`, ENTRY]),
  ) as { modules: { local?: string }[]; npmPackages?: Record<string, unknown> };
  const locals = info.modules.map((m) => m.local).filter((p): p is string => !!p);
  const files = [...new Set([...locals, ...PAGE_FILES.map((n) => `${SOURCE_DIR}/${n}`)])].sort();
  const parts: string[] = [Deno.version.deno, ...Object.keys(info.npmPackages ?? {}).sort()];
  for (const file of files) parts.push(file.slice(ROOT.length), await Deno.readTextFile(file));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder of a build of the current sources, building it only when the
 * sources changed since the last one (a rebuild takes seconds; a hash check
 * well under one). Builds land by rename, so two dev servers starting at once
 * never serve a half-written folder; older builds are removed.
 */
export async function cachedConsoleBuild(cacheDir = DEFAULT_CACHE): Promise<string> {
  const hash = await sourceHash();
  const dir = `${cacheDir}/${hash}`;
  if (await exists(`${dir}/console.js`)) return dir;
  const partial = `${cacheDir}/.partial-${crypto.randomUUID()}`;
  try {
    await buildConsole(partial);
    await Deno.rename(partial, dir).catch(async (error) => {
      // Another process finished the same build first: theirs is as good.
      if (!await exists(`${dir}/console.js`)) throw error;
    });
  } finally {
    await Deno.remove(partial, { recursive: true }).catch(() => {});
  }
  for await (const entry of Deno.readDir(cacheDir)) {
    if (entry.name !== hash && !entry.name.startsWith(".partial-")) {
      await Deno.remove(`${cacheDir}/${entry.name}`, { recursive: true }).catch(() => {});
    }
  }
  return dir;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The console's routes for the dev server: `/` (and `/index.html`),
 * `/console.js`, `/console.css` from `build`, and `/config.json` from
 * `config` (given the origin the browser used, so the page calls the server
 * by the name it was opened with). Returns undefined for any other path, for
 * the caller to route. A failed build answers 503 with the reason.
 */
export function consoleSite(options: {
  build: Promise<string>;
  config: (origin: string) => ServedConfig;
}): (request: Request) => Promise<Response> | undefined {
  // Never an unhandled rejection: the failure is answered to each request.
  options.build.catch(() => {});
  return (request) => {
    const url = new URL(request.url);
    const name = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
    if (!(name in CONTENT_TYPES) && name !== "config.json") return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return Promise.resolve(
        new Response(null, { status: 405, headers: { allow: "GET, HEAD" } }),
      );
    }
    const headers = { "cache-control": "no-cache", "x-content-type-options": "nosniff" };
    if (name === "config.json") {
      return Promise.resolve(Response.json(options.config(url.origin), { headers }));
    }
    return options.build.then(
      async (dir) =>
        new Response(request.method === "HEAD" ? null : await Deno.readFile(`${dir}/${name}`), {
          headers: { ...headers, "content-type": CONTENT_TYPES[name] },
        }),
      (error) =>
        new Response(
          `<!doctype html><title>Console unavailable</title><h1>The console could not be built</h1><pre>${
            escapeHtml(errorMessage(error))
          }</pre>`,
          { status: 503, headers: { ...headers, "content-type": CONTENT_TYPES["index.html"] } },
        ),
    );
  };
}

/**
 * The dev server's console: the cached build (made in the background, so the
 * server is ready at once; the page's first request waits for it) and a
 * config.json naming the server itself. With `localDev` (the server signs in
 * its local users) the page offers them as one-click sign-ins.
 */
export function devConsole(options: {
  anonKey?: string;
  localDev: boolean;
  onBuildError(message: string): void;
}): (request: Request) => Promise<Response> | undefined {
  const build = cachedConsoleBuild();
  build.catch((error) => options.onBuildError(errorMessage(error)));
  const localUsers = options.localDev
    ? LOCAL_USERS.map((user) => ({
      label: `local ${user.role === "admin" ? "admin" : "user"}`,
      email: user.email,
      password: LOCAL_PASSWORD,
    }))
    : [];
  return consoleSite({
    build,
    config: (origin) => ({
      supabaseUrl: origin,
      anonKey: options.anonKey,
      localDev: options.localDev,
      localUsers,
    }),
  });
}

/** `--name value` pairs of `args`. */
function flags(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const match = /^--([\w-]+)(?:=(.*))?$/.exec(args[i]);
    if (!match) throw new Error(`unexpected argument ${args[i]}`);
    out[match[1]] = match[2] ?? args[++i] ?? "";
  }
  return out;
}

/** `deno task console:build`: writes the page, and a config.json naming the project if given. */
async function main(): Promise<void> {
  const options = flags(Deno.args);
  const out = options.out ?? `${ROOT}/dist/console`;
  await buildConsole(out);
  // Always written: a page finding none would show the browser's 404 in its console.
  const config: ServedConfig = options.url
    ? { supabaseUrl: options.url.replace(/\/$/, ""), anonKey: options["anon-key"] }
    : {};
  await Deno.writeTextFile(`${out}/config.json`, JSON.stringify(config, null, 2) + "\n");
  console.log(
    [
      `Console written to ${out}/ (index.html, console.js, console.css, config.json).`,
      "Serve that folder from any static host; the page calls the project named in config.json",
      options.url
        ? `(${config.supabaseUrl}).`
        : "(none given: the page asks for the project URL and anon key, and remembers them).",
    ].join("\n"),
  );
}

if (import.meta.main) await main();
