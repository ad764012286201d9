/**
 * Deterministic content for the mock provider: the reply text, tool-call
 * arguments synthesized from JSON Schema, token estimates and embeddings.
 * The same request always gets the same answer.
 */

const FILLER = [
  "alpha",
  "bravo",
  "charlie",
  "delta",
  "echo",
  "foxtrot",
  "golf",
  "hotel",
  "india",
  "juliet",
  "kilo",
  "lima",
  "mike",
  "november",
  "oscar",
  "papa",
];

/** The reply's words: a short echo of the prompt, then filler, `count` words in all. */
export function replyWords(prompt: string, count: number): string[] {
  const echo = prompt.split(/\s+/).filter(Boolean).slice(0, 8);
  const words = ["Mock", "reply", "to:", ...echo];
  for (let i = 0; words.length < count; i++) words.push(FILLER[i % FILLER.length]);
  return words.slice(0, count);
}

/** Joins words as streamed: each chunk after the first carries its leading space. */
export function wordPieces(words: string[]): string[] {
  return words.map((word, index) => (index === 0 ? word : ` ${word}`));
}

/** A rough token count: four characters a token, at least one. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** A tool as both protocols describe it. */
export interface MockTool {
  name: string;
  schema: Record<string, unknown>;
}

/** How the caller constrained tool use. */
export type ToolMode = { kind: "auto" | "none" | "required" } | { kind: "named"; name: string };

/**
 * Which tools to call: a named tool when forced; otherwise every tool whose
 * name appears in the last user text (all of them in parallel when allowed),
 * or the first tool when a call is required but none is named. A conversation
 * whose last turn is a tool result gets text, so tool loops end.
 */
export function chooseTools(
  tools: MockTool[],
  mode: ToolMode,
  lastUserText: string,
  parallel: boolean,
  afterToolResult: boolean,
): MockTool[] {
  if (tools.length === 0 || mode.kind === "none" || afterToolResult) return [];
  if (mode.kind === "named") return tools.filter((t) => t.name === mode.name).slice(0, 1);
  const mentioned = tools.filter((t) => lastUserText.includes(t.name));
  const picked = mentioned.length > 0 ? mentioned : mode.kind === "required" ? [tools[0]] : [];
  return parallel ? picked : picked.slice(0, 1);
}

/** A value that satisfies `schema` (enum → first, string → "sample-<name>", …). */
export function sampleFromSchema(schema: unknown, name = "value"): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ("const" in s) return s.const;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "string":
      return `sample-${name}`;
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? s.minimum : 1;
    case "boolean":
      return true;
    case "null":
      return null;
    case "array":
      return [sampleFromSchema(s.items, name)];
    default: {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(properties)) out[key] = sampleFromSchema(sub, key);
      return out;
    }
  }
}

/** The model's thinking before it answers `prompt`: a few words, deterministic. */
export function thinkingText(prompt: string): string {
  const echo = prompt.split(/\s+/).filter(Boolean).slice(0, 6).join(" ");
  return `Thinking about: ${echo}. The user wants a short answer; reply plainly.`;
}

/**
 * The signature of a thinking block: FNV-1a of its text, so the mock can
 * check a block sent back unchanged (Anthropic answers 400 to a modified one).
 */
export function signThinking(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `sig_mock_${hash.toString(16).padStart(8, "0")}`;
}

/** A unit-length vector derived from SHA-256 of `text`. */
export async function embedText(text: string, dimensions: number): Promise<number[]> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  let state = new DataView(digest.buffer).getUint32(0) || 1;
  const vector: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    // xorshift32: cheap, deterministic, good enough for test vectors.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    vector.push(state / 0xffffffff - 0.5);
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}

/** Float32 little-endian bytes of `vector`, base64-encoded, as OpenAI's `encoding_format: "base64"`. */
export function vectorToBase64(vector: number[]): string {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}
