/**
 * The layers point inward, as DESIGN.md draws them: `_shared/runtime/` uses
 * nothing of the project; `_shared/llm/` (the core) uses only itself,
 * `runtime/` and provider SDK *types*, and touches no `Deno.*`; no file
 * imports itself round a loop, and no folder does either. Type imports
 * count: a loop of types is a loop of ideas.
 */
import assert from "node:assert/strict";
import { ROOT } from "./helpers/process.ts";

const FUNCTIONS = `${ROOT}/supabase/functions`;

interface SourceFile {
  /** Path under supabase/functions, e.g. `_shared/llm/router.ts`. */
  path: string;
  text: string;
  imports: { specifier: string; typeOnly: boolean; resolved?: string }[];
}

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/g;
const DYNAMIC = /import\(\s*["']([^"']+)["']\s*\)/g;

function* walk(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return out.join("/");
}

function sources(): SourceFile[] {
  return [...walk(FUNCTIONS)].map((full) => {
    const path = full.slice(FUNCTIONS.length + 1);
    const text = Deno.readTextFileSync(full);
    const imports = [...text.matchAll(IMPORT)].map((m) => ({
      specifier: m[3],
      typeOnly: m[2] !== undefined,
    }));
    for (const m of text.matchAll(DYNAMIC)) imports.push({ specifier: m[1], typeOnly: false });
    for (const entry of imports) {
      if (entry.specifier.startsWith(".")) {
        const dir = path.split("/").slice(0, -1).join("/");
        (entry as { resolved?: string }).resolved = normalize(`${dir}/${entry.specifier}`);
      }
    }
    return { path, text, imports };
  });
}

/** The folder a file belongs to, as the layer rules see it: `_shared/llm`, `llm-router` … */
function folderOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "_shared" ? `_shared/${parts[1]}` : parts[0];
}

/** Every cycle in `graph` (as node lists), found by depth-first search. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

Deno.test("layers: _shared/runtime imports nothing of the project and no package", () => {
  const offenders = sources().filter((f) => f.path.startsWith("_shared/runtime/")).flatMap((f) =>
    f.imports.filter((i) =>
      !i.resolved?.startsWith("_shared/runtime/") && !i.specifier.startsWith("node:")
    ).map((i) => `${f.path} → ${i.specifier}`)
  );
  assert.deepEqual(offenders, []);
});

Deno.test("layers: _shared/llm imports only llm/, runtime/ and provider SDK types, and touches no Deno.*", () => {
  const SDK_TYPES = /^(openai|@anthropic-ai\/sdk)(\/|$)/;
  const offenders: string[] = [];
  for (const file of sources().filter((f) => f.path.startsWith("_shared/llm/"))) {
    for (const entry of file.imports) {
      const inside = entry.resolved?.startsWith("_shared/llm/") ||
        entry.resolved?.startsWith("_shared/runtime/");
      const sdkType = entry.typeOnly && SDK_TYPES.test(entry.specifier);
      if (!inside && !sdkType) offenders.push(`${file.path} → ${entry.specifier}`);
    }
    // Comments may name Deno; code may not.
    const code = file.text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, "");
    if (/\bDeno\./.test(code)) offenders.push(`${file.path} uses Deno.*`);
  }
  assert.deepEqual(offenders, []);
});

Deno.test("layers: no file imports itself round a loop", () => {
  const graph = new Map<string, Set<string>>();
  for (const file of sources()) {
    graph.set(
      file.path,
      new Set(file.imports.flatMap((i) => (i.resolved ? [i.resolved] : []))),
    );
  }
  assert.deepEqual(cycles(graph).map((c) => c.join(" → ")), []);
});

Deno.test("layers: no folder imports itself round a loop", () => {
  const graph = new Map<string, Set<string>>();
  for (const file of sources()) {
    const from = folderOf(file.path);
    const edges = graph.get(from) ?? new Set<string>();
    for (const entry of file.imports) {
      if (!entry.resolved) continue;
      const to = folderOf(entry.resolved);
      if (to !== from) edges.add(to);
    }
    graph.set(from, edges);
  }
  assert.deepEqual(cycles(graph).map((c) => c.join(" → ")), []);
});

Deno.test("layers: the cycle finder and the import reader do find what they look for", () => {
  const graph = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])]]);
  assert.deepEqual(cycles(graph), [["a", "b", "c", "a"]]);
  const text = 'import type { X } from "../llm/types.ts";\nexport { y } from "./y.ts";\n' +
    'const m = await import("./lazy.ts");';
  const found = [...text.matchAll(IMPORT)].map((m) => [m[3], m[2] !== undefined]);
  assert.deepEqual(found, [["../llm/types.ts", true], ["./y.ts", false]]);
  assert.deepEqual([...text.matchAll(DYNAMIC)].map((m) => m[1]), ["./lazy.ts"]);
});
