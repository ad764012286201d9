/**
 * Import rules that keep functions deployable and bootable on Supabase: no
 * registries this machine (or the deploy bundler) cannot reach, no std or
 * node crypto, nothing imported from outside supabase/functions, pinned npm
 * versions, and direct functions that load no npm package and no router core
 * when they boot, and never an SDK or zod at all.
 */
import assert from "node:assert/strict";
import { functionNames, ROOT } from "./helpers/process.ts";

const FORBIDDEN: [RegExp, string][] = [
  [/["']jsr:/, "jsr: import"],
  [/https?:\/\/deno\.land/, "deno.land import"],
  [/esm\.sh/, "esm.sh import"],
  [/std@[\d.]+\/crypto|@std\/crypto/, "std crypto"],
  [/["']node:crypto["']/, "node:crypto"],
];

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|js|mjs|json)$/.test(entry.name)) yield path;
  }
}

Deno.test("imports: no file under supabase/functions uses jsr:, deno.land, esm.sh, std crypto or node:crypto", () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(`${ROOT}/supabase/functions`)) {
    const text = Deno.readTextFileSync(file);
    for (const [pattern, what] of FORBIDDEN) {
      if (pattern.test(text)) offenders.push(`${file}: ${what}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("imports: the forbidden-import scan does catch each forbidden form", () => {
  const samples = [
    'import x from "jsr:@std/x"',
    'import "https://deno.land/std@0.1/x.ts"',
    'import "https://esm.sh/x"',
    'import { createHash } from "node:crypto"',
  ];
  for (const sample of samples) {
    assert.ok(FORBIDDEN.some(([pattern]) => pattern.test(sample)), sample);
  }
});

Deno.test("imports: every dependency in import_map.json is an npm: specifier pinned to an exact version", () => {
  const map = JSON.parse(Deno.readTextFileSync(`${ROOT}/import_map.json`)).imports as Record<
    string,
    string
  >;
  for (const [name, target] of Object.entries(map)) {
    assert.match(target, /^npm:\/?(@[\w-]+\/)?[\w.-]+@\d+\.\d+\.\d+\/?$/, `${name} → ${target}`);
  }
});

interface ModuleGraph {
  modules: { specifier: string; kind?: string }[];
}

async function moduleGraph(entry: string): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as ModuleGraph;
  return graph.modules.map((m) => m.specifier);
}

Deno.test("imports: every function imports local code only from inside supabase/functions", async () => {
  const inside = `file://${ROOT}/supabase/functions/`;
  for (const name of functionNames()) {
    const specifiers = await moduleGraph(`supabase/functions/${name}/index.ts`);
    const outside = specifiers.filter((s) => s.startsWith("file://") && !s.startsWith(inside));
    assert.deepEqual(outside, [], name);
    const otherFunctions = specifiers.filter((s) =>
      s.startsWith(inside) && !s.startsWith(`${inside}_shared/`) &&
      !s.startsWith(`${inside}${name}/`)
    );
    assert.deepEqual(otherFunctions, [], `${name} imports another function`);
  }
});

/** One function's graph as `deno info --json` reports it. */
interface InfoGraph {
  roots: string[];
  modules: {
    specifier: string;
    kind?: string;
    dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
  }[];
  npmPackages: Record<string, { dependencies: string[] }>;
}

async function infoGraph(entry: string): Promise<InfoGraph> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/**
 * The modules that run, reached from the root through code imports: only
 * static ones (what loads when the function boots), or dynamic `import()`s
 * too (everything that can ever load). Type-only imports are erased, so they
 * are not followed.
 */
function runtimeClosure(graph: InfoGraph, withDynamic: boolean): Set<string> {
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const queue = [...graph.roots];
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (!dependency.code || (dependency.isDynamic && !withDynamic)) continue;
      queue.push(dependency.code.specifier);
    }
  }
  return seen;
}

/** Every npm package (name) the npm modules in `specifiers` pull in, transitively. */
function npmPackagesOf(graph: InfoGraph, specifiers: Iterable<string>): Set<string> {
  const names = new Set<string>();
  const queue = [...specifiers].flatMap((s) => {
    const match = /^npm:\/?((?:@[^@/]+\/)?[^@/]+)@([^/]+)/.exec(s);
    return match
      ? Object.keys(graph.npmPackages).filter((id) => id.startsWith(`${match[1]}@${match[2]}`))
      : [];
  });
  const seen = new Set<string>();
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    names.add(id.replace(/^(@?[^@]+)@.*$/, "$1"));
    queue.push(...(graph.npmPackages[id]?.dependencies ?? []));
  }
  return names;
}

const FUNCTIONS = `file://${ROOT}/supabase/functions/`;
/** The npm packages a direct function may load, each only behind a dynamic import in its store module. */
const LAZY_DRIVERS: Record<string, string> = {
  "postgres": "_shared/store/postgres-db.ts",
  "@upstash/redis": "_shared/store/upstash-store.ts",
};

for (const name of ["ai-chat-direct", "ai-walkthrough-direct"]) {
  Deno.test(`imports: ${name} boots with no npm package and no router core — only the catalog's data from _shared/llm`, async () => {
    const graph = await infoGraph(`supabase/functions/${name}/index.ts`);
    const booted = [...runtimeClosure(graph, false)];
    assert.ok(booted.includes(`${FUNCTIONS}_shared/direct/handler.ts`), "the graph was not read");
    assert.deepEqual(booted.filter((s) => !s.startsWith("file://")), [], "npm at boot");
    assert.deepEqual(
      booted.filter((s) => s.includes("/_shared/llm/") && !s.endsWith("/_shared/llm/catalog.ts")),
      [],
      "router core at boot",
    );
  });

  Deno.test(`imports: ${name} loads npm packages only lazily, each from its store module, and never an SDK, zod or a tokenizer`, async () => {
    const graph = await infoGraph(`supabase/functions/${name}/index.ts`);
    const everything = runtimeClosure(graph, true);
    const npmImports = graph.modules.filter((m) => everything.has(m.specifier)).flatMap((m) =>
      (m.dependencies ?? []).filter((d) => d.code?.specifier.startsWith("npm:")).map((d) => ({
        importer: m.specifier.slice(FUNCTIONS.length),
        npm: d.code!.specifier,
        dynamic: d.isDynamic === true,
      }))
    );
    assert.ok(npmImports.length > 0, "the lazy drivers were not found");
    for (const edge of npmImports) {
      const allowed = Object.entries(LAZY_DRIVERS).find(([pkg]) =>
        edge.npm.startsWith(`npm:${pkg}@`)
      );
      assert.ok(allowed, `${edge.importer} imports ${edge.npm}`);
      assert.equal(edge.importer, allowed[1], `${edge.npm} is imported from its store module`);
    }
    const packages = npmPackagesOf(graph, [...everything].filter((s) => s.startsWith("npm:")));
    for (const banned of ["openai", "@anthropic-ai/sdk", "zod", "gpt-tokenizer"]) {
      assert.ok(!packages.has(banned), `${name} can load ${banned}`);
    }
    // Of the router's core, only the catalog and (for metrics' error labels, loaded lazily) its error codes.
    const core = [...everything].filter((s) => s.includes("/_shared/llm/")).map((s) =>
      s.slice(FUNCTIONS.length)
    ).sort();
    assert.deepEqual(core, ["_shared/llm/catalog.ts", "_shared/llm/errors.ts"]);
  });
}
