/**
 * The BYOK key vault: AES-256-GCM round trips, binding to account and
 * provider, tamper detection, settings parsing, and that no secret reaches an
 * error message or a serialized object.
 */
import assert from "node:assert/strict";
import {
  displayedHint,
  keyHint,
  KeyVault,
  KeyVaultConfigError,
  KeyVaultError,
  MAX_PROVIDER_KEY_LENGTH,
  parseMasterKeys,
  validateProviderKey,
} from "../supabase/functions/_shared/security/key-vault.ts";
import {
  base64UrlDecode,
  base64UrlEncode,
} from "../supabase/functions/_shared/security/base64url.ts";

const ACCOUNT = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const OTHER_ACCOUNT = "0b7e1f7c-9d52-4c55-9c3a-3b8f0f4a6d21";
const PLAINTEXT = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

function randomKeyBase64(bytes = 32): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
}

const V1 = randomKeyBase64();
const V2 = randomKeyBase64();

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

async function vaultError(promise: Promise<unknown>): Promise<KeyVaultError> {
  const error = await rejection(promise);
  assert.ok(error instanceof KeyVaultError, `not a KeyVaultError: ${error}`);
  return error;
}

async function configError(keys: string | undefined, active?: string) {
  const error = await rejection(KeyVault.fromSettings(keys, active));
  assert.ok(error instanceof KeyVaultConfigError, `not a KeyVaultConfigError: ${error}`);
  // The synchronous check reports the same problem.
  const parsed = parseMasterKeys(keys, active);
  assert.ok(parsed instanceof KeyVaultConfigError);
  assert.equal(parsed.problem, error.problem);
  return error;
}

function assertNoSecret(text: string, secrets: string[]) {
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `a secret leaked into: ${text}`);
    // Also its URL-safe spelling and its first half (a partial leak is a leak).
    const urlSafe = secret.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    assert.ok(!text.includes(urlSafe), `a secret leaked into: ${text}`);
    assert.ok(!text.includes(secret.slice(0, 16)), `part of a secret leaked into: ${text}`);
  }
}

Deno.test("key vault: round trip under the active version", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  assert.equal(sealed.version, "v1");
  assert.match(sealed.ciphertext, /^[A-Za-z0-9_-]+$/);
  assert.equal(
    await vault.decrypt(sealed.ciphertext, sealed.version, ACCOUNT, "openai"),
    PLAINTEXT,
  );
  // Non-ASCII text survives (the vault itself does not restrict the alphabet).
  const unicode = await vault.encrypt("ключ-🔑", ACCOUNT, "openai");
  assert.equal(await vault.decrypt(unicode.ciphertext, "v1", ACCOUNT, "openai"), "ключ-🔑");
});

Deno.test("key vault: the layout is format byte, 12-byte nonce, ciphertext, 16-byte tag", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  const bytes = base64UrlDecode(sealed.ciphertext);
  assert.equal(bytes[0], 1);
  assert.equal(bytes.length, 1 + 12 + new TextEncoder().encode(PLAINTEXT).length + 16);
});

Deno.test("key vault: two encryptions of the same key differ (fresh nonce)", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const a = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  const b = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  assert.notEqual(a.ciphertext, b.ciphertext);
  assert.notDeepEqual(
    base64UrlDecode(a.ciphertext).slice(1, 13),
    base64UrlDecode(b.ciphertext).slice(1, 13),
  );
});

Deno.test("key vault: the output never contains the plaintext", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  const text = JSON.stringify(sealed) + String(sealed.ciphertext);
  assert.ok(!text.includes(PLAINTEXT));
  assert.ok(!text.includes(PLAINTEXT.slice(0, 12)));
  assert.ok(!text.includes(base64UrlEncode(PLAINTEXT).slice(0, 12)));
  assert.ok(!text.includes(btoa(PLAINTEXT).slice(0, 12)));
});

Deno.test("key vault: a ciphertext moved to another account or provider does not decrypt", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  for (const [account, provider] of [[OTHER_ACCOUNT, "openai"], [ACCOUNT, "anthropic"]]) {
    const error = await vaultError(vault.decrypt(sealed.ciphertext, "v1", account, provider));
    assert.equal(error.reason, "tampered");
    assertNoSecret(error.message, [PLAINTEXT, sealed.ciphertext, V1]);
  }
  // The account id's case does not matter (a UUID is the same id in either case).
  assert.equal(
    await vault.decrypt(sealed.ciphertext, "v1", ACCOUNT.toUpperCase(), "openai"),
    PLAINTEXT,
  );
});

Deno.test("key vault: a flipped byte anywhere fails (tampered; malformed for the format byte)", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  const bytes = base64UrlDecode(sealed.ciphertext);
  for (let i = 0; i < bytes.length; i++) {
    const altered = bytes.slice();
    altered[i] ^= 0x01;
    const error = await vaultError(
      vault.decrypt(base64UrlEncode(altered), "v1", ACCOUNT, "openai"),
    );
    // Byte 0 is the format: an unknown format is refused before any decryption.
    assert.equal(error.reason, i === 0 ? "malformed" : "tampered", `byte ${i}`);
    assertNoSecret(error.message, [PLAINTEXT, sealed.ciphertext, V1]);
  }
});

Deno.test("key vault: any changed character of the stored text fails", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  const text = sealed.ciphertext;
  for (let i = 0; i < text.length; i++) {
    const replacement = text[i] === "A" ? "B" : "A";
    const altered = text.slice(0, i) + replacement + text.slice(i + 1);
    await vaultError(vault.decrypt(altered, "v1", ACCOUNT, "openai"));
  }
});

Deno.test("key vault: truncated, empty and non-base64url input fails", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  const bytes = base64UrlDecode(sealed.ciphertext);
  for (const length of [0, 1, 13, 28, 29, bytes.length - 16, bytes.length - 1]) {
    const error = await vaultError(
      vault.decrypt(base64UrlEncode(bytes.slice(0, length)), "v1", ACCOUNT, "openai"),
    );
    assert.ok(["malformed", "tampered"].includes(error.reason), `length ${length}`);
  }
  const cut = await vaultError(
    vault.decrypt(sealed.ciphertext.slice(0, 20), "v1", ACCOUNT, "openai"),
  );
  assert.equal(cut.reason, "malformed");
  for (const bad of ["not base64!", `${sealed.ciphertext}=`, sealed.ciphertext + "\n"]) {
    const error = await vaultError(vault.decrypt(bad, "v1", ACCOUNT, "openai"));
    assert.equal(error.reason, "malformed");
    assertNoSecret(error.message, [sealed.ciphertext]);
  }
});

Deno.test("key vault: an unknown version fails as unknown_version", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const sealed = await vault.encrypt(PLAINTEXT, ACCOUNT, "openai");
  const error = await vaultError(vault.decrypt(sealed.ciphertext, "v9", ACCOUNT, "openai"));
  assert.equal(error.reason, "unknown_version");
  assert.match(error.message, /v9/);
  assertNoSecret(error.message, [PLAINTEXT, sealed.ciphertext, V1]);
  // A version column that is not a version name is not echoed.
  const odd = await vaultError(vault.decrypt(sealed.ciphertext, V1, ACCOUNT, "openai"));
  assert.equal(odd.reason, "unknown_version");
  assertNoSecret(odd.message, [V1]);
});

Deno.test("key vault: another master key does not decrypt (tampered)", async () => {
  const one = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const other = await KeyVault.fromSettings(`v1:${V2}`, undefined);
  const sealed = await one.encrypt(PLAINTEXT, ACCOUNT, "openai");
  assert.equal(
    (await vaultError(other.decrypt(sealed.ciphertext, "v1", ACCOUNT, "openai"))).reason,
    "tampered",
  );
});

Deno.test("key vault: several versions; the active one encrypts, all decrypt", async () => {
  const old = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const fromOld = await old.encrypt(PLAINTEXT, ACCOUNT, "openai");
  // Default active: the last listed.
  const both = await KeyVault.fromSettings(` v1:${V1} , v2:${V2} ,`, undefined);
  assert.equal(both.activeVersion, "v2");
  assert.deepEqual(both.versions, ["v1", "v2"]);
  assert.equal(await both.decrypt(fromOld.ciphertext, "v1", ACCOUNT, "openai"), PLAINTEXT);
  const fromBoth = await both.encrypt(PLAINTEXT, ACCOUNT, "openai");
  assert.equal(fromBoth.version, "v2");
  // Explicit active version.
  const pinned = await KeyVault.fromSettings(`v1:${V1},v2:${V2}`, "v1");
  assert.equal(pinned.activeVersion, "v1");
  assert.equal((await pinned.encrypt(PLAINTEXT, ACCOUNT, "openai")).version, "v1");
  assert.equal(await pinned.decrypt(fromBoth.ciphertext, "v2", ACCOUNT, "openai"), PLAINTEXT);
  // Only the new version: old rows are refused as unknown.
  const onlyNew = await KeyVault.fromSettings(`v2:${V2}`, "v2");
  assert.equal(await onlyNew.decrypt(fromBoth.ciphertext, "v2", ACCOUNT, "openai"), PLAINTEXT);
  assert.equal(
    (await vaultError(onlyNew.decrypt(fromOld.ciphertext, "v1", ACCOUNT, "openai"))).reason,
    "unknown_version",
  );
});

Deno.test("key vault: URL-safe and unpadded base64 master keys are accepted", async () => {
  const urlSafe = V1.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const a = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  const b = await KeyVault.fromSettings(`v1:${urlSafe}`, undefined);
  const sealed = await a.encrypt(PLAINTEXT, ACCOUNT, "openai");
  assert.equal(await b.decrypt(sealed.ciphertext, "v1", ACCOUNT, "openai"), PLAINTEXT);
});

Deno.test("key vault: settings errors are clear and never quote key material", async () => {
  const short = randomKeyBase64(31);
  const long = randomKeyBase64(33);
  const badBase64 = V1.slice(0, 20) + "!*" + V1.slice(22);
  const cases: [string | undefined, string | undefined, string, RegExp, string[]][] = [
    [undefined, undefined, "empty", /LLM_KEY_ENCRYPTION_KEYS/, []],
    ["", undefined, "empty", /LLM_KEY_ENCRYPTION_KEYS/, []],
    [" , ", undefined, "empty", /LLM_KEY_ENCRYPTION_KEYS/, []],
    [`v1:${badBase64}`, undefined, "bad_base64", /"v1".*base64/, [badBase64]],
    [`v1:${V1},v2:${short}`, undefined, "bad_length", /"v2".*31 bytes/, [short, V1]],
    [`v1:${long}`, undefined, "bad_length", /"v1".*33 bytes/, [long]],
    [`v1:${V1},v1:${V2}`, undefined, "duplicate_version", /"v1"/, [V1, V2]],
    [`v1:${V1},v2:${V2}`, "v3", "unknown_active", /LLM_KEY_ENCRYPTION_ACTIVE.*"v3"/, [V1, V2]],
    // A key pasted without its version, and a key pasted as the active version.
    [V1, undefined, "malformed_entry", /entry 1/, [V1]],
    [`v1:${V1},${V2}`, undefined, "malformed_entry", /entry 2/, [V1, V2]],
    [`${V2.slice(0, 10)}+/:${V1}`, undefined, "bad_version", /entry 1/, [V1, V2]],
    [`v1:${V1}`, V1, "unknown_active", /LLM_KEY_ENCRYPTION_ACTIVE/, [V1]],
  ];
  for (const [keys, active, problem, message, secrets] of cases) {
    const error = await configError(keys, active);
    assert.equal(error.problem, problem, `${problem}: ${error.message}`);
    assert.match(error.message, message);
    assertNoSecret(error.message, secrets);
    assertNoSecret(String(error) + JSON.stringify(error) + (error.stack ?? ""), secrets);
  }
});

Deno.test("key vault: parseMasterKeys describes valid settings without key material", () => {
  const spec = parseMasterKeys(`v1:${V1},v2:${V2}`, "v1");
  assert.ok(!(spec instanceof KeyVaultConfigError));
  assert.deepEqual(spec, { versions: ["v1", "v2"], active: "v1" });
});

Deno.test("key vault: the vault never serializes or prints a master key", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1},v2:${V2}`, undefined);
  assert.deepEqual(JSON.parse(JSON.stringify(vault)), { versions: ["v1", "v2"], active: "v2" });
  assert.equal(String(vault), "KeyVault(active=v2, versions=v1,v2)");
  assertNoSecret(Deno.inspect(vault, { depth: 10, showHidden: true }), [V1, V2]);
});

Deno.test("key vault: needsRotation is true for every version but the active one", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1},v2:${V2}`, "v2");
  assert.equal(vault.needsRotation("v2"), false);
  assert.equal(vault.needsRotation("v1"), true);
  assert.equal(vault.needsRotation("v0"), true);
  assert.equal(vault.hasVersion("v1"), true);
  assert.equal(vault.hasVersion("v0"), false);
});

Deno.test("key vault: encrypt refuses an empty key, account or provider", async () => {
  const vault = await KeyVault.fromSettings(`v1:${V1}`, undefined);
  await assert.rejects(vault.encrypt("", ACCOUNT, "openai"), TypeError);
  await assert.rejects(vault.encrypt(PLAINTEXT, "", "openai"), TypeError);
  await assert.rejects(vault.encrypt(PLAINTEXT, ACCOUNT, ""), TypeError);
});

Deno.test("key vault: keyHint shows only the last four characters of a key", () => {
  assert.equal(keyHint("sk-1234567890abcdef"), "…cdef");
  assert.equal(keyHint(PLAINTEXT), "…6789");
  assert.equal(keyHint("short"), "****");
  assert.ok(!keyHint(PLAINTEXT).includes(PLAINTEXT.slice(0, 5)));
});

Deno.test("key vault: hints stored in the old form are shown as the last four characters", () => {
  assert.equal(displayedHint("sk-12…cdef"), "…cdef");
  assert.equal(displayedHint("…cdef"), "…cdef");
  assert.equal(displayedHint("****"), "****");
});

Deno.test("key vault: validateProviderKey", () => {
  assert.equal(validateProviderKey(PLAINTEXT), undefined);
  assert.equal(validateProviderKey("sk-ant-api03-AbC_dEf-123"), undefined);
  assert.equal(validateProviderKey("x".repeat(MAX_PROVIDER_KEY_LENGTH)), undefined);
  const refused: [unknown, RegExp][] = [
    ["", /empty/],
    ["x".repeat(MAX_PROVIDER_KEY_LENGTH + 1), /longer than 500/],
    [` ${PLAINTEXT}`, /whitespace/],
    [`${PLAINTEXT}\n`, /whitespace/],
    ["sk-abc def", /whitespace/],
    ["sk-abc\tdef", /whitespace/],
    ["sk-abc\u00a0def", /whitespace/],
    ["sk-abc\u0000def", /control/],
    ["sk-abc\u007fdef", /control/],
    ["sk-abc\u200bdef", /control or invisible/],
    ["sk-abc\u00e9def", /non-ASCII/],
    [undefined, /string/],
    [42, /string/],
  ];
  for (const [key, reason] of refused) {
    const result = validateProviderKey(key);
    assert.ok(result, `accepted ${JSON.stringify(key)}`);
    assert.match(result, reason);
    if (typeof key === "string" && key.length > 3) assert.ok(!result.includes(key));
  }
});
