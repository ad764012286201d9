/**
 * The BYOK key vault: accounts' own provider keys encrypted at rest with
 * AES-256-GCM under a versioned master key, through Web Crypto only.
 *
 * Master keys come from two settings the caller reads and passes in (this
 * module never touches the environment):
 *   LLM_KEY_ENCRYPTION_KEYS    `v1:<base64 of 32 bytes>,v2:<base64 of 32 bytes>`
 *   LLM_KEY_ENCRYPTION_ACTIVE  the version new encryptions use (default: the last listed)
 * Several versions coexist during a rotation: every listed version decrypts,
 * only the active one encrypts (see scripts/rotate-keys.ts).
 *
 * Stored ciphertext (column `ciphertext`, version in `key_version`) is one
 * unpadded base64url string of
 *   byte 0        format, 0x01 (the layout below; another value is refused)
 *   bytes 1..12   nonce, 12 random bytes, fresh for every encryption
 *   bytes 13..    AES-GCM output: ciphertext of the UTF-8 key, then the 16-byte tag
 * The additional authenticated data binds it to its row: the format byte, the
 * account id and the provider, so a ciphertext copied to another account's or
 * another provider's row fails to decrypt.
 *
 * No secret (a plaintext key or a master key) ever reaches an error message,
 * and nothing returned from here serializes one.
 */
import { base64UrlDecode, base64UrlEncode } from "./base64url.ts";
import { maskKey } from "../runtime/redact.ts";

/** The setting that lists the master keys. */
export const KEYS_SETTING = "LLM_KEY_ENCRYPTION_KEYS";
/** The setting that names the active master key version. */
export const ACTIVE_SETTING = "LLM_KEY_ENCRYPTION_ACTIVE";
/** The longest provider key accepted from a user. */
export const MAX_PROVIDER_KEY_LENGTH = 500;

/** What a version name may look like. */
const VERSION_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
/** AES-256: master keys are exactly this many bytes. */
const MASTER_KEY_BYTES = 32;
/** The layout documented above; bumped if the layout ever changes. */
const FORMAT_V1 = 0x01;
/** GCM's recommended nonce size: random 96-bit nonces are safe for ~2^32 encryptions per key. */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Format byte + nonce + tag: anything shorter was cut. */
const MIN_CIPHERTEXT_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

/** What was wrong with the master key settings. */
export type KeyVaultConfigProblem =
  | "empty"
  | "malformed_entry"
  | "bad_version"
  | "bad_base64"
  | "bad_length"
  | "duplicate_version"
  | "unknown_active";

/**
 * Unusable master key settings. The message names the setting, the problem
 * and (when it is a well-formed name) the version — never key material.
 */
export class KeyVaultConfigError extends Error {
  constructor(
    readonly problem: KeyVaultConfigProblem,
    message: string,
    readonly version?: string,
  ) {
    super(message);
    this.name = "KeyVaultConfigError";
  }
}

/** Why a stored key could not be decrypted. */
export type KeyVaultFailure = "unknown_version" | "tampered" | "malformed";

/**
 * A stored key that did not decrypt. `tampered` also covers a ciphertext
 * moved to another account or provider (the AAD no longer matches). The
 * message never contains the ciphertext or any key.
 */
export class KeyVaultError extends Error {
  constructor(readonly reason: KeyVaultFailure, message: string) {
    super(message);
    this.name = "KeyVaultError";
  }
}

/** The shape of valid master key settings, without key material (safe to log). */
export interface MasterKeySpec {
  /** Versions in the order listed. */
  versions: readonly string[];
  /** The version new encryptions use. */
  active: string;
}

/** An encrypted provider key, as stored in `ciphertext` and `key_version`. */
export interface EncryptedKey {
  ciphertext: string;
  version: string;
}

interface ParsedSettings {
  entries: { version: string; bytes: Uint8Array<ArrayBuffer> }[];
  active: string;
}

/**
 * Checks master key settings without importing anything: for boot-time
 * config validation. Returns the versions and the active one, or the error.
 */
export function parseMasterKeys(
  keysSetting: string | undefined,
  activeSetting: string | undefined,
): MasterKeySpec | KeyVaultConfigError {
  try {
    const parsed = parseSettings(keysSetting, activeSetting);
    // The bytes are not returned; wipe this copy rather than leave it to the GC.
    for (const entry of parsed.entries) entry.bytes.fill(0);
    return { versions: parsed.entries.map((e) => e.version), active: parsed.active };
  } catch (error) {
    if (error instanceof KeyVaultConfigError) return error;
    throw error;
  }
}

function parseSettings(
  keysSetting: string | undefined,
  activeSetting: string | undefined,
): ParsedSettings {
  // Blank items are skipped so that a trailing comma is harmless.
  const items = (keysSetting ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) {
    throw new KeyVaultConfigError("empty", `${KEYS_SETTING} is not set or lists no keys`);
  }
  const entries: ParsedSettings["entries"] = [];
  const seen = new Set<string>();
  try {
    items.forEach((item, index) => {
      const position = `entry ${index + 1} of ${KEYS_SETTING}`;
      const colon = item.indexOf(":");
      // Without a colon the whole item may be a key: it is not quoted.
      if (colon < 0) {
        throw new KeyVaultConfigError(
          "malformed_entry",
          `${position} is not of the form <version>:<base64 key>`,
        );
      }
      const version = item.slice(0, colon).trim();
      if (!VERSION_PATTERN.test(version)) {
        // Not quoted either: a malformed name may be a pasted key.
        throw new KeyVaultConfigError(
          "bad_version",
          `${position} has an invalid version name (expected 1-32 of A-Z a-z 0-9 _ -)`,
        );
      }
      if (seen.has(version)) {
        throw new KeyVaultConfigError(
          "duplicate_version",
          `${KEYS_SETTING} lists version "${version}" more than once`,
          version,
        );
      }
      seen.add(version);
      const bytes = decodeBase64(item.slice(colon + 1).trim());
      if (!bytes) {
        throw new KeyVaultConfigError(
          "bad_base64",
          `${KEYS_SETTING}: the key of version "${version}" is not valid base64`,
          version,
        );
      }
      if (bytes.length !== MASTER_KEY_BYTES) {
        bytes.fill(0);
        throw new KeyVaultConfigError(
          "bad_length",
          `${KEYS_SETTING}: the key of version "${version}" is ${bytes.length} bytes; ` +
            `it must be exactly ${MASTER_KEY_BYTES} random bytes (e.g. openssl rand -base64 32)`,
          version,
        );
      }
      entries.push({ version, bytes });
    });
  } catch (error) {
    for (const entry of entries) entry.bytes.fill(0);
    throw error;
  }
  const requested = activeSetting?.trim();
  const active = requested ? requested : entries[entries.length - 1].version;
  if (!seen.has(active)) {
    for (const entry of entries) entry.bytes.fill(0);
    // Quoted only when it looks like a version name (a 32-byte key never does).
    const shown = VERSION_PATTERN.test(active) ? `"${active}"` : "(not a valid version name)";
    throw new KeyVaultConfigError(
      "unknown_active",
      `${ACTIVE_SETTING} names version ${shown}, which ${KEYS_SETTING} does not list`,
      VERSION_PATTERN.test(active) ? active : undefined,
    );
  }
  return { entries, active };
}

/** Standard or URL-safe base64, padded or not; `undefined` when it is not base64. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  try {
    return base64UrlDecode(text.replace(/\+/g, "-").replace(/\//g, "_"));
  } catch {
    return undefined;
  }
}

/** The AAD: format, account and provider, JSON-encoded so no two pairs collide. */
function additionalData(
  format: number,
  accountId: string,
  provider: string,
): Uint8Array<ArrayBuffer> {
  // Account ids are UUIDs; Postgres returns them lower-case, an API caller may not.
  return new TextEncoder().encode(
    JSON.stringify(["llm_provider_keys", format, accountId.toLowerCase(), provider]),
  );
}

function requireRowIdentity(accountId: string, provider: string): void {
  if (typeof accountId !== "string" || accountId === "") {
    throw new TypeError("accountId is required");
  }
  if (typeof provider !== "string" || provider === "") {
    throw new TypeError("provider is required");
  }
}

/**
 * Encrypts and decrypts provider keys with the configured master keys. The
 * master keys are imported once, non-extractable, and held privately: the
 * vault serializes (JSON, `toString`) as its versions only.
 */
export class KeyVault {
  readonly #keys: ReadonlyMap<string, CryptoKey>;
  readonly #active: string;

  private constructor(keys: ReadonlyMap<string, CryptoKey>, active: string) {
    this.#keys = keys;
    this.#active = active;
  }

  /**
   * A vault from the values of LLM_KEY_ENCRYPTION_KEYS and
   * LLM_KEY_ENCRYPTION_ACTIVE; rejects with `KeyVaultConfigError` when they
   * are unusable.
   */
  static async fromSettings(
    keysSetting: string | undefined,
    activeSetting: string | undefined,
  ): Promise<KeyVault> {
    const parsed = parseSettings(keysSetting, activeSetting);
    const keys = new Map<string, CryptoKey>();
    try {
      for (const { version, bytes } of parsed.entries) {
        keys.set(
          version,
          await crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]),
        );
      }
    } finally {
      // importKey copied the bytes; the raw copy is not needed any more.
      for (const entry of parsed.entries) entry.bytes.fill(0);
    }
    return new KeyVault(keys, parsed.active);
  }

  /** The version new encryptions use. */
  get activeVersion(): string {
    return this.#active;
  }

  /** Every configured version, in the order listed. */
  get versions(): readonly string[] {
    return [...this.#keys.keys()];
  }

  /** Whether this vault has a master key for `version`. */
  hasVersion(version: string): boolean {
    return this.#keys.has(version);
  }

  /** Whether a key stored under `version` should be re-encrypted under the active version. */
  needsRotation(version: string): boolean {
    return version !== this.#active;
  }

  /**
   * Encrypts `plaintext` under the active master key, bound to `accountId`
   * and `provider` (the row it will be stored in).
   */
  async encrypt(plaintext: string, accountId: string, provider: string): Promise<EncryptedKey> {
    if (typeof plaintext !== "string" || plaintext === "") {
      throw new TypeError("the key to encrypt is empty");
    }
    requireRowIdentity(accountId, provider);
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv: nonce,
          additionalData: additionalData(FORMAT_V1, accountId, provider),
          tagLength: TAG_BYTES * 8,
        },
        this.#keys.get(this.#active)!,
        new TextEncoder().encode(plaintext),
      ),
    );
    const out = new Uint8Array(1 + NONCE_BYTES + sealed.length);
    out[0] = FORMAT_V1;
    out.set(nonce, 1);
    out.set(sealed, 1 + NONCE_BYTES);
    return { ciphertext: base64UrlEncode(out), version: this.#active };
  }

  /**
   * Decrypts a stored key; throws `KeyVaultError` for an unknown version, a
   * malformed value, or one that does not authenticate (tampered, truncated,
   * or bound to another account or provider).
   */
  async decrypt(
    ciphertext: string,
    version: string,
    accountId: string,
    provider: string,
  ): Promise<string> {
    requireRowIdentity(accountId, provider);
    const key = this.#keys.get(version);
    if (!key) {
      // Quoted only when it looks like a version name: the column is not trusted.
      const shown = VERSION_PATTERN.test(version) ? `"${version}"` : "(invalid name)";
      throw new KeyVaultError("unknown_version", `no master key version ${shown} is configured`);
    }
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = base64UrlDecode(ciphertext);
    } catch {
      throw new KeyVaultError("malformed", "stored key is not base64url");
    }
    // Only the exact encoding encrypt() produces is accepted, so every
    // change to the stored text (even in unused trailing bits) is refused.
    if (base64UrlEncode(bytes) !== ciphertext) {
      throw new KeyVaultError("malformed", "stored key is not canonical base64url");
    }
    if (bytes.length < MIN_CIPHERTEXT_BYTES) {
      throw new KeyVaultError("malformed", "stored key is too short (truncated)");
    }
    if (bytes[0] !== FORMAT_V1) {
      throw new KeyVaultError("malformed", `stored key has unsupported format ${bytes[0]}`);
    }
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: bytes.subarray(1, 1 + NONCE_BYTES),
          additionalData: additionalData(FORMAT_V1, accountId, provider),
          tagLength: TAG_BYTES * 8,
        },
        key,
        bytes.subarray(1 + NONCE_BYTES),
      );
    } catch {
      throw new KeyVaultError(
        "tampered",
        "stored key did not authenticate (altered, or bound to another account or provider)",
      );
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(plain);
    } catch {
      throw new KeyVaultError("malformed", "stored key is not UTF-8 text");
    }
  }

  /** Serializes as the versions only: the keys are never part of it. */
  toJSON(): MasterKeySpec {
    return { versions: this.versions, active: this.#active };
  }

  /** A description without key material. */
  toString(): string {
    return `KeyVault(active=${this.#active}, versions=${this.versions.join(",")})`;
  }
}

/** The display form stored in `key_hint` and shown to admins: the last four characters, `…cdef`. */
export function keyHint(plaintext: string): string {
  return maskKey(plaintext);
}

/**
 * A stored hint in today's form. Hints stored before showed the key's first
 * five characters too (`sk-12…cdef`); those are cut to the last four on the way out.
 */
export function displayedHint(stored: string): string {
  return stored.includes("…") ? `…${stored.slice(-4)}` : "****";
}

/**
 * Checks a provider key a user submitted; returns why it is refused, or
 * `undefined` when it is acceptable. The reason never quotes the key.
 */
export function validateProviderKey(key: unknown): string | undefined {
  if (typeof key !== "string") return "key must be a string";
  if (key === "") return "key is empty";
  if (key.length > MAX_PROVIDER_KEY_LENGTH) {
    return `key is longer than ${MAX_PROVIDER_KEY_LENGTH} characters`;
  }
  // Pasted keys often carry a newline or a space; the provider would refuse them.
  if (/\s/u.test(key)) return "key contains whitespace";
  // Control and invisible format characters (zero-width space, BOM, …).
  if (/[\p{Cc}\p{Cf}]/u.test(key)) return "key contains control or invisible characters";
  // Keys travel in HTTP headers, which refuse non-Latin-1 text; providers' keys are ASCII.
  if (/[^\x21-\x7e]/.test(key)) return "key contains non-ASCII characters";
  return undefined;
}
