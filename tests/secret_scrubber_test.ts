/**
 * The SecretScrubber: known secrets leave text in every form an upstream may
 * echo them in, ordinary text is left alone, and a world's env secrets are
 * the ones it knows. Also the pattern fallback for masked unknown keys and
 * the logger that scrubs a world's secrets.
 */
import assert from "node:assert/strict";
import { SCRUBBED, SecretScrubber } from "../supabase/functions/_shared/runtime/secret-scrubber.ts";
import {
  environmentSecrets,
  secretScrubberFromEnv,
} from "../supabase/functions/_shared/security/known-secrets.ts";
import { redactSecrets } from "../supabase/functions/_shared/runtime/redact.ts";
import { jsonLogger, scrubbingLogger } from "../supabase/functions/_shared/runtime/log.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";

const KEY = "tnt+live/Key0123456789=abcdefXYZ";

const echoes: [string, (key: string) => string][] = [
  ["raw", (key) => `key ${key} refused`],
  ["URL-encoded", (key) => `?key=${encodeURIComponent(key)}&x=1`],
  [
    "URL-encoded, lower-case hex",
    (key) => encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  ],
  ["JSON-escaped", (key) => JSON.stringify({ key }).replaceAll("/", "\\/")],
  ["base64", (key) => `token ${btoa(key)}`],
  ["base64 in a Basic credential", (key) => `Basic ${btoa(`user:${key}`)}`],
  ["base64 at the second offset", (key) => btoa(`ab${key}`)],
  [
    "base64url",
    (key) => btoa(`x${key}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""),
  ],
  [
    "masked behind an unknown prefix",
    (key) => `provided: ${key.slice(0, 6)}*********${key.slice(-4)}`,
  ],
  ["masked with an ellipsis", (key) => `provided: ${key.slice(0, 9)}...${key.slice(-6)}`],
];

for (const [name, echo] of echoes) {
  Deno.test(`scrubber: a known key echoed ${name} is removed`, () => {
    const scrubber = new SecretScrubber([KEY]);
    const text = echo(KEY);
    const out = scrubber.scrub(text);
    assert.ok(out.includes(SCRUBBED), out);
    // Nothing of the key's middle survives, in the echo's own encoding either.
    assert.ok(!out.includes(KEY.slice(6, -4)), out);
    assert.ok(!out.includes(btoa(KEY).slice(4, -4)), out);
    assert.ok(!out.includes(encodeURIComponent(KEY).slice(4, -4)), out);
  });
}

Deno.test("scrubber: text without a secret comes back as it was, short values are no secrets", () => {
  const scrubber = new SecretScrubber([KEY, "short", undefined, null, ""]);
  assert.equal(scrubber.size, 1);
  for (
    const text of [
      "",
      "b1b1b1b1-b1b1-4b1b-8b1b-b1b1b1b1b1b1",
      "openai/gpt-4o-mini: provider failed with 500",
      "Loading... please wait *** done",
      "the stored hint …fXYZ",
      "a short word",
    ]
  ) {
    assert.equal(scrubber.scrub(text), text);
  }
  assert.equal(new SecretScrubber([]).scrub(`x ${KEY}`), `x ${KEY}`);
});

Deno.test("scrubber: `with` adds a request's own keys without changing the original", () => {
  const base = new SecretScrubber([KEY]);
  const tenant = "tenant-own-key-0123456789";
  const both = base.with([tenant]);
  assert.equal(both.scrub(`${KEY} ${tenant}`), `${SCRUBBED} ${SCRUBBED}`);
  assert.equal(base.scrub(tenant), tenant);
});

Deno.test("known secrets: server keys, JWT secret, master key material, job secret, db password", () => {
  const material = btoa("m".repeat(32));
  const env = mapEnv({
    SUPABASE_SERVICE_ROLE_KEY: "service-role-key-0123456789",
    LLM_SERVICE_KEYS: "first-server-key-0123, second-server-key-4567",
    SUPABASE_JWT_SECRET: "super-secret-jwt-token-with-at-least-32-characters-long",
    LLM_KEY_ENCRYPTION_KEYS: `v1:${material}`,
    LLM_JOB_SECRET: "job-secret-0123456789",
    SUPABASE_DB_URL: "postgres://app:db%2Bpass%2Fword@db.local:5432/postgres",
    OPENAI_API_KEY: KEY,
    SUPABASE_URL: "https://ref.supabase.co",
  });
  const secrets = environmentSecrets(env);
  for (
    const expected of [
      "service-role-key-0123456789",
      "first-server-key-0123",
      "second-server-key-4567",
      "super-secret-jwt-token-with-at-least-32-characters-long",
      material,
      "job-secret-0123456789",
      "db+pass/word",
    ]
  ) {
    assert.ok(secrets.includes(expected), expected);
  }
  assert.ok(!secrets.includes("https://ref.supabase.co"));
  const scrubber = secretScrubberFromEnv(env, ["OPENAI_API_KEY", "MISTRAL_API_KEY"]);
  assert.equal(
    scrubber.scrub(`${encodeURIComponent(KEY)} ${btoa("job-secret-0123456789")} ${material}`),
    `${SCRUBBED} ${SCRUBBED} ${SCRUBBED}`,
  );
});

Deno.test("scrubbingLogger: a world's secrets leave every string field before the line is written", () => {
  const lines: string[] = [];
  const log = scrubbingLogger(
    jsonLogger("test", (_level, line) => lines.push(line)),
    new SecretScrubber([KEY]),
  );
  log.warn("llm_request_failed", {
    detail: `upstream said ${btoa(KEY)}`,
    url: `https://x.test/?k=${encodeURIComponent(KEY)}`,
    attempts: 2,
  });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]);
  assert.equal(record.attempts, 2);
  assert.ok(!lines[0].includes(btoa(KEY).slice(0, 20)), lines[0]);
  assert.ok(!lines[0].includes(encodeURIComponent(KEY)), lines[0]);
});

Deno.test("scrubbingLogger: the caller's fields are never changed, with or without a secret in them", () => {
  const lines: string[] = [];
  const log = scrubbingLogger(
    jsonLogger("test", (_level, line) => lines.push(line)),
    new SecretScrubber([KEY]),
  );
  const leaky = { detail: `upstream said ${KEY}`, attempts: 1 };
  const plain = { detail: "upstream said no", attempts: 2 };
  log.error("failed", leaky);
  log.info("done", plain);
  assert.deepEqual(leaky, { detail: `upstream said ${KEY}`, attempts: 1 });
  assert.deepEqual(plain, { detail: "upstream said no", attempts: 2 });
  const [first, second] = lines.map((line) => JSON.parse(line));
  assert.equal(first.detail, `upstream said ${SCRUBBED}`);
  assert.equal(second.detail, "upstream said no");
  assert.equal(second.attempts, 2);
  // Each line carries the time it was written.
  for (const { ts } of [first, second]) assert.ok(Math.abs(Date.parse(ts) - Date.now()) < 5_000);
});

Deno.test("scrubbingLogger: given a builder, it reads the secrets on the first line, once", () => {
  const lines: string[] = [];
  let builds = 0;
  const log = scrubbingLogger(jsonLogger("test", (_level, line) => lines.push(line)), () => {
    builds++;
    return new SecretScrubber([KEY]);
  });
  // A handler made at import time wraps its logger then: nothing may be read yet.
  assert.equal(builds, 0);
  log.info("first", { detail: `key ${encodeURIComponent(KEY)}` });
  log.error("second", { detail: btoa(KEY) });
  assert.equal(builds, 1);
  assert.equal(lines.length, 2);
  assert.ok(
    lines.every((line) => !line.includes(encodeURIComponent(KEY)) && !line.includes(btoa(KEY))),
  );
});

Deno.test("redactSecrets: a masked key with an unknown prefix is removed without knowing the key", () => {
  const out = redactSecrets("Incorrect API key provided: acme_ab12********************wxyz.");
  assert.equal(out, "Incorrect API key provided: [redacted].");
  assert.equal(redactSecrets("rated ****"), "rated ****");
});
