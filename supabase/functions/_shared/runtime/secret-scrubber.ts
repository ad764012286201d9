/**
 * Removing *known* secrets from text before it leaves the process, in the
 * forms an upstream echoes them: raw, URL-encoded, JSON-escaped, base64 and
 * base64url (also inside a longer base64 blob, such as a Basic credential),
 * and masked (`acme-ab12****wxyz`) where the visible edges are the secret's.
 * Pattern-based `redactSecrets` stays the fallback for secrets nobody told
 * us about; this catches the ones we know, whatever their prefix.
 *
 * A scrubber is an immutable value built from the secrets its owner knows
 * (an adapter its own key, a world its env's), never module state, so two
 * worlds never share one. Its matcher is compiled on first use, so building
 * one on a path that never fails costs nothing.
 */

/** What a secret becomes in scrubbed text. */
export const SCRUBBED = "[redacted]";

/** Shorter values are not treated as secrets: they would match ordinary text. */
const MIN_SECRET_LENGTH = 8;

/** A run that masks the middle of a key: `***`, `•••`, `…` or `...`. */
const MASK_RUN = /[*•]{3,}|…|\.{3,}/;
/** A token with a mask run in it, with the key-like characters either side. */
const MASKED_TOKEN = /[A-Za-z0-9_+/-]*(?:[*•]{3,}|…|\.{3,})[A-Za-z0-9_+/-]*/g;
/** Visible characters of a masked echo that must be a secret's to count as one. */
const MIN_MASKED_PREFIX = 4;
/** More than the last four, which is what the gateway's own key hints show. */
const MIN_MASKED_SUFFIX = 5;

/** Scrubs a fixed set of known secrets from text. */
export class SecretScrubber {
  readonly #secrets: readonly string[];
  #matcher: { forms: RegExp; shortest: number } | undefined;

  /** `secrets` may hold undefined and short values: they are skipped. */
  constructor(secrets: Iterable<string | undefined | null>) {
    const known = new Set<string>();
    for (const secret of secrets) {
      if (secret && secret.length >= MIN_SECRET_LENGTH) known.add(secret);
    }
    this.#secrets = [...known];
  }

  /** How many secrets this scrubber knows. */
  get size(): number {
    return this.#secrets.length;
  }

  /** A scrubber knowing these secrets as well (a request's own keys, say). */
  with(more: Iterable<string | undefined | null>): SecretScrubber {
    return new SecretScrubber([...this.#secrets, ...more]);
  }

  /** `text` with every known secret, in any of its forms, replaced by `[redacted]`. */
  scrub(text: string): string {
    if (this.#secrets.length === 0) return text;
    const matcher = this.#matcher ??= compile(this.#secrets);
    // Most text is an id or a code, shorter than any encoded secret: nothing to scan.
    let out = text.length < matcher.shortest ? text : text.replace(matcher.forms, SCRUBBED);
    if (MASK_RUN.test(out)) {
      out = out.replace(MASKED_TOKEN, (token) => this.#echoes(token) ? SCRUBBED : token);
    }
    return out;
  }

  /** Whether a masked token shows the start (or more than the end) of a known secret. */
  #echoes(token: string): boolean {
    const run = MASK_RUN.exec(token)!;
    const prefix = token.slice(0, run.index);
    const suffix = token.slice(token.search(/[A-Za-z0-9_+/-]*$/));
    return this.#secrets.some((secret) =>
      (prefix.length >= MIN_MASKED_PREFIX && endsWithStartOf(prefix, secret)) ||
      (suffix.length >= MIN_MASKED_SUFFIX && secret.endsWith(suffix))
    );
  }
}

/** Whether `text` ends with the first `MIN_MASKED_PREFIX` or more characters of `secret`. */
function endsWithStartOf(text: string, secret: string): boolean {
  for (let n = Math.min(text.length, secret.length); n >= MIN_MASKED_PREFIX; n--) {
    if (text.endsWith(secret.slice(0, n))) return true;
  }
  return false;
}

function compile(secrets: readonly string[]): { forms: RegExp; shortest: number } {
  const forms = new Set<string>();
  for (const secret of secrets) {
    for (const form of encodedForms(secret)) {
      if (form.length >= MIN_SECRET_LENGTH) forms.add(form);
    }
  }
  // Longest first: a form is replaced whole before a shorter one inside it could split it.
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  return {
    forms: new RegExp(sorted.map(escapeRegExp).join("|"), "g"),
    shortest: sorted.at(-1)!.length,
  };
}

/** Every form in which `secret` may be echoed back. */
export function encodedForms(secret: string): string[] {
  const url = encodeURIComponent(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  return [
    secret,
    url,
    url.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    json,
    json.replaceAll("/", "\\/"),
    ...base64Cores(secret),
  ];
}

/**
 * The base64 and base64url characters that depend on `secret`'s bytes alone,
 * at each of the three offsets it can start at inside a longer encoded
 * blob. The few characters at either edge also depend on neighbouring bytes
 * and carry at most a few bits of the secret, so they are left as they are.
 */
function base64Cores(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    let binary = "\0".repeat(offset);
    for (const byte of bytes) binary += String.fromCharCode(byte);
    const encoded = btoa(binary);
    const start = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const core = encoded.slice(start, end);
    cores.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  return cores;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
