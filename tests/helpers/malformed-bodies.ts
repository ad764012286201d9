/**
 * Generated malformed request bodies for the bad-input test: from a valid
 * seed body, every way a body can be wrong that a client (or an attacker)
 * can send — broken JSON and encodings, wrong types, lone surrogates and NUL
 * bytes, deep nesting, huge names and values, duplicate and prototype keys.
 * Deterministic: the same seed gives the same bodies, so a failure reproduces.
 */

/** One body to send, as raw bytes, with a label saying how it is wrong. */
export interface MalformedBody {
  label: string;
  bytes: Uint8Array<ArrayBuffer>;
}

const encoder = new TextEncoder();

/** A small seeded PRNG (mulberry32): reproducible choices without Math.random. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Text that is not JSON, not UTF-8 or not an object. */
const RAW_BODIES: [string, Uint8Array<ArrayBuffer>][] = [
  ["empty", new Uint8Array()],
  ["open brace", encoder.encode("{")],
  ["null", encoder.encode("null")],
  ["array", encoder.encode("[]")],
  ["number", encoder.encode("42")],
  ["string", encoder.encode('"hello"')],
  ["trailing garbage", encoder.encode('{"a":1} trailing')],
  ["comment", encoder.encode('{/* c */"a":1}')],
  ["single quotes", encoder.encode("{'a':1}")],
  ["NaN", encoder.encode('{"a":NaN}')],
  ["bare control char", encoder.encode('{"a":"x\u0001y"}')],
  ["invalid utf-8", new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ["overlong utf-8", new Uint8Array([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])],
  ["utf-8 bom", new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('{"a":1}')])],
  ["utf-16 body", new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])],
  ["deep array 100k", encoder.encode("[".repeat(100_000) + "]".repeat(100_000))],
  ["huge exponent", encoder.encode('{"a":1e99999}')],
];

/** Values of every wrong type, and edge values of the right ones. */
const ODD_VALUES: [string, string][] = [
  ["null", "null"],
  ["true", "true"],
  ["zero", "0"],
  ["negative", "-1"],
  ["float", "0.5"],
  ["huge number", "1e308"],
  ["negative zero", "-0"],
  ["big integer", "123456789012345678901234567890"],
  ["empty string", '""'],
  ["whitespace", '"   "'],
  ["empty array", "[]"],
  ["empty object", "{}"],
  ["array of nulls", "[null,null]"],
  ["lone high surrogate", '"bot\\ud800x"'],
  ["lone low surrogate", '"\\udc00"'],
  ["reversed pair", '"\\udc00\\ud800"'],
  ["NUL", '"a\\u0000b"'],
  ["only NUL", '"\\u0000"'],
  ["control chars", '"\\u0001\\u001f\\u007f"'],
  ["bidi override", '"\\u202e\\u2066abc"'],
  ["zero width", '"\\u200b\\u200d\\ufeff"'],
  ["emoji", '"\\ud83d\\ude00\\ud83e\\udd16"'],
  ["noncharacter", '"\\uffff\\ufffe"'],
  ["percent text", '"%ZZ%00%"'],
  ["path text", '"../../etc/passwd"'],
  ["sql text", `"'; drop table llm_usage; --"`],
  ["html", '"<script>alert(1)</script>"'],
];

function deep(depth: number, leaf: string, open = "[", close = "]"): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** Large and nested values, built on demand (some are megabytes). */
function bigValues(random: () => number): [string, string][] {
  const length = 50_000 + Math.floor(random() * 50_000);
  return [
    ["long string", JSON.stringify("x".repeat(length))],
    ["long unicode string", JSON.stringify("é😀".repeat(length / 4))],
    ["deep array 64", deep(64, "1")],
    ["deep array 2000", deep(2_000, "1")],
    ["deep object 2000", deepObject(2_000)],
    ["deep object 20000", deepObject(20_000)],
    ["wide array", `[${Array.from({ length: 20_000 }, () => "0").join(",")}]`],
    ["wide object", `{${Array.from({ length: 5_000 }, (_, i) => `"k${i}":${i}`).join(",")}}`],
  ];
}

/** The seed's fields in JSON text, so values can be spliced in as raw JSON. */
function withField(seed: Record<string, unknown>, path: string[], rawValue: string): string {
  const marker = `"__fuzz_${crypto.randomUUID()}__"`;
  const copy = structuredClone(seed) as Record<string, unknown>;
  let target: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (next === null || typeof next !== "object") target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  target[path.at(-1)!] = JSON.parse(marker);
  return JSON.stringify(copy).replace(marker, rawValue);
}

/** Every leaf path of `value` (objects and arrays), so each field gets its turn. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return [prefix];
  return [prefix, ...entries.flatMap(([key, child]) => leafPaths(child, [...prefix, key]))]
    .filter((path) => path.length > 0);
}

/**
 * At least `count` malformed bodies built from `seed`, a valid body of the
 * endpoint: the raw breakages, then its fields replaced by odd values,
 * nested and oversized values, unknown/huge/duplicate/prototype keys.
 */
export function malformedBodies(
  seed: Record<string, unknown>,
  count: number,
  random: () => number,
): MalformedBody[] {
  const out: MalformedBody[] = RAW_BODIES.map(([label, bytes]) => ({ label, bytes }));
  const text = (label: string, body: string) => out.push({ label, bytes: encoder.encode(body) });
  const seedText = JSON.stringify(seed);
  const inner = seedText.slice(1, -1);
  const firstKey = Object.keys(seed)[0] ?? "a";

  text("duplicate key", `{${inner},${JSON.stringify(firstKey)}:12345}`);
  text("duplicate key with surrogate", `{${inner},${JSON.stringify(firstKey)}:"\\ud800"}`);
  text("proto key", `{${inner},"__proto__":{"isAdmin":true}}`);
  text("constructor key", `{${inner},"constructor":{"prototype":{"x":1}}}`);
  text("huge unknown key", `{${inner},${JSON.stringify("k".repeat(200_000))}:1}`);
  text("surrogate key", `{${inner},"\\ud800":1}`);
  text("NUL key", `{${inner},"a\\u0000b":1}`);
  text("empty key", `{${inner},"":1}`);

  // Every field meets every odd value once (in a seeded order) before any pair repeats.
  const pairs = leafPaths(seed).flatMap((path) =>
    [...ODD_VALUES, ...bigValues(random)].map(([label, raw]) => ({ path, label, raw }))
  );
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j], pairs[i]];
  }
  for (let i = 0; out.length < count; i++) {
    const { path, label, raw } = pairs[i % pairs.length];
    text(`${path.join(".")} = ${label}`, withField(seed, path, raw));
  }
  return out;
}
