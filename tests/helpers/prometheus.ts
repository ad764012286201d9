/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for
 * tests: it refuses what a scraper would refuse (bad names, bad label
 * syntax, samples of an undeclared family, a TYPE after samples, values that
 * are not numbers) and groups samples by family.
 */

/** One sample line. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its HELP, TYPE and samples (histograms: `_bucket`, `_sum`, `_count` too). */
export interface PromFamily {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new SyntaxError(`line ${line}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new SyntaxError(`line ${line}: bad label name ${name}`);
    if (text[eq + 1] !== '"') throw new SyntaxError(`line ${line}: label value not quoted`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new SyntaxError(`line ${line}: bad escape \\${next}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new SyntaxError(`line ${line}: unterminated label value`);
    if (name in labels) throw new SyntaxError(`line ${line}: label ${name} twice`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (i < text.length) throw new SyntaxError(`line ${line}: expected ',' between labels`);
  }
  return labels;
}

function familyOf(sampleName: string, families: Map<string, PromFamily>): PromFamily | undefined {
  if (families.has(sampleName)) return families.get(sampleName);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sampleName.endsWith(suffix)) {
      const family = families.get(sampleName.slice(0, -suffix.length));
      if (family && (family.type === "histogram" || family.type === "summary")) return family;
    }
  }
  return undefined;
}

/** Parses `text`; throws SyntaxError on anything a scraper would reject. */
export function parsePrometheusText(text: string): PromFamily[] {
  const families = new Map<string, PromFamily>();
  const lines = text.split("\n");
  if (lines.at(-1) !== "") throw new SyntaxError("the exposition must end with a newline");
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    if (raw.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!match) return; // a plain comment
      const [, kind, name, rest] = match;
      if (!NAME.test(name)) throw new SyntaxError(`line ${line}: bad metric name ${name}`);
      const family = families.get(name) ??
        { name, help: "", type: "untyped" as const, samples: [] as PromSample[] };
      if (kind === "HELP") family.help = rest;
      else {
        if (family.samples.length) throw new SyntaxError(`line ${line}: TYPE after samples`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
          throw new SyntaxError(`line ${line}: bad type ${rest}`);
        }
        family.type = rest as PromFamily["type"];
      }
      families.set(name, family);
      return;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\d+))?$/.exec(raw);
    if (!match) throw new SyntaxError(`line ${line}: not a sample: ${raw}`);
    const [, name, labelText, valueText] = match;
    const value = valueText === "+Inf"
      ? Infinity
      : valueText === "-Inf"
      ? -Infinity
      : valueText === "NaN"
      ? NaN
      : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") {
      throw new SyntaxError(`line ${line}: bad value ${valueText}`);
    }
    const family = familyOf(name, families);
    if (!family) throw new SyntaxError(`line ${line}: ${name} has no TYPE declared before it`);
    family.samples.push({ name, labels: labelText ? parseLabels(labelText, line) : {}, value });
  });
  return [...families.values()];
}
