/** supabase/config.toml declares every function, each with an explicit verify_jwt and the import map. */
import assert from "node:assert/strict";
import { functionNames, ROOT } from "./helpers/process.ts";

function functionSections(toml: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of toml.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    const header = /^\[functions\.([\w-]+)\]$/.exec(line);
    if (header) {
      current = {};
      sections.set(header[1], current);
    } else if (line.startsWith("[")) {
      current = undefined;
    } else if (current && line.includes("=")) {
      const [key, value] = line.split("=", 2).map((part) => part.trim());
      current[key] = value.replace(/^"|"$/g, "");
    }
  }
  return sections;
}

Deno.test("config.toml: exactly the function directories, each with verify_jwt, import_map and entrypoint", () => {
  const toml = Deno.readTextFileSync(`${ROOT}/supabase/config.toml`);
  const sections = functionSections(toml);
  assert.deepEqual([...sections.keys()].sort(), functionNames());
  assert.equal(functionNames().length, 5);
  for (const [name, settings] of sections) {
    assert.match(settings.verify_jwt ?? "", /^(true|false)$/, `${name}.verify_jwt`);
    assert.equal(settings.import_map, "../import_map.json", `${name}.import_map`);
    assert.equal(settings.entrypoint, `./functions/${name}/index.ts`, `${name}.entrypoint`);
    assert.ok(Deno.statSync(`${ROOT}/supabase/${settings.entrypoint}`).isFile);
  }
});

Deno.test("deno.json: points at import_map.json and has the dev, test, check, lint, fmt and bench tasks", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));
  assert.equal(config.importMap, "./import_map.json");
  for (const task of ["dev", "test", "check", "lint", "fmt", "bench"]) {
    assert.ok(config.tasks[task], task);
  }
});
