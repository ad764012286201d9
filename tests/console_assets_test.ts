/**
 * The console's files: built by `deno bundle` into a page that loads nothing
 * from outside (it must work air-gapped), cached by `deno task dev` while the
 * sources are unchanged, served beside a config.json naming the server, and
 * written to a plain folder by `deno task console:build`.
 */
import assert from "node:assert/strict";
import { cachedConsoleBuild, consoleSite } from "../scripts/dev/console-assets.ts";
import { ROOT } from "./helpers/process.ts";

const PAGE_FILES = ["index.html", "console.js", "console.css"];

/** Fails when `dir`'s page would fetch anything from another host. */
async function assertSelfContained(dir: string): Promise<void> {
  const html = await Deno.readTextFile(`${dir}/index.html`);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "index.html loads only local files");
  assert.match(html, /<script type="module" src="console\.js"><\/script>/);
  const js = await Deno.readTextFile(`${dir}/console.js`);
  // One bundle: no module it would still have to import, from anywhere.
  assert.doesNotMatch(js, /(^|[;\s])import\s*[\w{*"'(]/m, "console.js imports nothing");
  assert.doesNotMatch(await Deno.readTextFile(`${dir}/console.css`), /@import|url\(/);
}

Deno.test("console build: bundled into a self-contained page, reused while the sources are unchanged, older builds removed", async () => {
  const cache = await Deno.makeTempDir({ prefix: "console-cache-" });
  try {
    await Deno.mkdir(`${cache}/0123456789abcdef`);
    const dir = await cachedConsoleBuild(cache);
    for (const name of PAGE_FILES) assert.ok((await Deno.stat(`${dir}/${name}`)).size > 0, name);
    await assertSelfContained(dir);
    const built = (await Deno.stat(`${dir}/console.js`)).mtime;

    const again = await cachedConsoleBuild(cache);
    assert.equal(again, dir);
    assert.deepEqual((await Deno.stat(`${again}/console.js`)).mtime, built, "not rebuilt");
    const left = [];
    for await (const entry of Deno.readDir(cache)) left.push(entry.name);
    assert.deepEqual(left, [dir.slice(cache.length + 1)], "only the current build is kept");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("console site: page files, a config.json naming the origin asked, other paths left to the caller", async () => {
  const dir = await Deno.makeTempDir({ prefix: "console-site-" });
  try {
    await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html><title>console</title>");
    await Deno.writeTextFile(`${dir}/console.js`, "export {};");
    await Deno.writeTextFile(`${dir}/console.css`, "body{}");
    const site = consoleSite({
      build: Promise.resolve(dir),
      config: (origin) => ({ supabaseUrl: origin, anonKey: "anon-key", localDev: true }),
    });
    const get = (path: string, method = "GET") =>
      site(new Request(`http://localhost:54321${path}`, { method }));

    const page = await get("/")!;
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await page.text(), "<!doctype html><title>console</title>");
    const script = await get("/console.js")!;
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    await script.body?.cancel();
    const config = await get("/config.json")!;
    assert.deepEqual(await config.json(), {
      supabaseUrl: "http://localhost:54321",
      anonKey: "anon-key",
      localDev: true,
    });

    assert.equal(get("/functions/v1/llm-router"), undefined);
    assert.equal(get("/auth/v1/token"), undefined);
    const post = await get("/", "POST")!;
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("console site: a failed build answers 503 with the reason, as text not markup", async () => {
  const site = consoleSite({
    build: Promise.reject(new Error("deno bundle failed: <script>x</script>")),
    config: () => ({}),
  });
  const response = await site(new Request("http://localhost/"))!;
  assert.equal(response.status, 503);
  const body = await response.text();
  assert.match(body, /could not be built/);
  assert.ok(body.includes("&#60;script&#62;x&#60;/script&#62;"));
  assert.ok(!body.includes("<script>x"));
  // config.json still answers: the page's settings do not depend on the build.
  const config = await site(new Request("http://localhost/config.json"))!;
  assert.equal(config.status, 200);
  await config.body?.cancel();
});

Deno.test("console:build writes a folder any static host serves, with config.json naming the project", async () => {
  const out = await Deno.makeTempDir({ prefix: "console-dist-" });
  try {
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "console:build",
        "--out",
        out,
        "--url",
        "https://abcd.supabase.co/",
        "--anon-key",
        "public-anon-key",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const printed = new TextDecoder().decode(result.stdout);
    assert.ok(result.success, new TextDecoder().decode(result.stderr));
    assert.match(printed, new RegExp(`Console written to ${out}/`));
    for (const name of PAGE_FILES) assert.ok((await Deno.stat(`${out}/${name}`)).size > 0, name);
    await assertSelfContained(out);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${out}/config.json`)), {
      supabaseUrl: "https://abcd.supabase.co",
      anonKey: "public-anon-key",
    });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
