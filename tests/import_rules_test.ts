/**
 * Import rules that keep functions deployable and bootable on Supabase: no
 * registries this machine (or the deploy bundler) cannot reach, no std or
 * node crypto, nothing imported from outside supabase/functions, pinned npm
 * versions, and direct functions that never reach the router core or an SDK.
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

Deno.test("imports: the direct functions reach only the small HTTP helpers — no router core, no npm package", async () => {
  const base = `file://${ROOT}/supabase/functions/`;
  const allowed = ["_shared/http/", "_shared/security/", "_shared/direct/"];
  for (const name of ["ai-chat-direct", "ai-walkthrough-direct"]) {
    const specifiers = await moduleGraph(`supabase/functions/${name}/index.ts`);
    assert.ok(specifiers.length > 5, "the graph was not read");
    const disallowed = specifiers.filter((s) =>
      !(s.startsWith(base) &&
        [`${name}/`, ...allowed].some((prefix) => s.startsWith(base + prefix)))
    );
    assert.deepEqual(disallowed, [], `${name} reaches beyond the direct path`);
    assert.ok(
      !specifiers.some((s) => s.includes("/_shared/llm/")),
      `${name} reaches the router core`,
    );
  }
});
