/** Unit tests of the small HTTP and security helpers every function uses. */
import assert from "node:assert/strict";
import { encodeSse, SseDecoder } from "../supabase/functions/_shared/runtime/sse.ts";
import { functionSubPath, requestIdOf } from "../supabase/functions/_shared/http/route.ts";
import { maskKey, redactSecrets } from "../supabase/functions/_shared/runtime/redact.ts";
import { Hs256Jwt } from "../supabase/functions/_shared/security/jwt-hs256.ts";
import {
  JwtVerifier,
  JwtVerifyError,
} from "../supabase/functions/_shared/security/jwt-verifier.ts";
import { sameSecret } from "../supabase/functions/_shared/security/same-secret.ts";
import {
  base64UrlDecode,
  base64UrlEncode,
} from "../supabase/functions/_shared/security/base64url.ts";
import { upstreamErrorFromResponse } from "../supabase/functions/_shared/direct/upstream-error.ts";
import { retryAfterMs } from "../supabase/functions/_shared/runtime/retry-after.ts";
import { jsonLogger } from "../supabase/functions/_shared/runtime/log.ts";
import {
  clipInput,
  HttpError,
  validationError,
} from "../supabase/functions/_shared/http/errors.ts";
import {
  checkRequestJson,
  MAX_JSON_DEPTH,
} from "../supabase/functions/_shared/http/request-text.ts";

Deno.test("sse decoder: events split across chunks at every byte boundary decode the same", () => {
  const wire =
    'event: error\ndata: {"a":1}\n\ndata: line one\ndata: line two\r\n\r\n: comment\ndata: é✓\rid: 7\r\r';
  const bytes = new TextEncoder().encode(wire);
  const once = new SseDecoder();
  const whole = [...once.push(bytes), ...once.flush()];
  assert.deepEqual(whole.map((e) => e.data), ['{"a":1}', "line one\nline two", "é✓"]);
  assert.equal(whole[0].event, "error");
  assert.equal(whole[2].id, "7");
  for (let cut = 1; cut < bytes.length; cut++) {
    const decoder = new SseDecoder();
    const events = [
      ...decoder.push(bytes.slice(0, cut)),
      ...decoder.push(bytes.slice(cut)),
      ...decoder.flush(),
    ];
    assert.deepEqual(events, whole, `cut at ${cut}`);
  }
});

Deno.test("sse decoder: an unfinished event at the end is not dispatched", () => {
  const decoder = new SseDecoder();
  assert.deepEqual(decoder.push("data: partial"), []);
  assert.equal(decoder.hasPartialEvent, true);
  assert.deepEqual(decoder.flush(), []);
});

Deno.test("sse encoder: multi-line data becomes several data lines and round-trips", () => {
  const wire = encodeSse({ event: "error", data: "a\nb" });
  assert.equal(wire, "event: error\ndata: a\ndata: b\n\n");
  assert.deepEqual(new SseDecoder().push(wire), [{ event: "error", data: "a\nb" }]);
});

Deno.test("functionSubPath: hosted (/name/...) and local (/functions/v1/name/...) paths agree", () => {
  assert.equal(
    functionSubPath(new URL("http://x/llm-router/v1/models"), "llm-router"),
    "/v1/models",
  );
  assert.equal(
    functionSubPath(new URL("http://x/functions/v1/llm-router/v1/models"), "llm-router"),
    "/v1/models",
  );
  assert.equal(functionSubPath(new URL("http://x/functions/v1/llm-router"), "llm-router"), "/");
  assert.equal(functionSubPath(new URL("http://x/functions/v1/llm-router/"), "llm-router"), "/");
  assert.equal(functionSubPath(new URL("http://x/other"), "llm-router"), "/other");
});

Deno.test("functionSubPath: only a whole segment is the name; what follows keeps its inner slashes", () => {
  const sub = (path: string) => functionSubPath(new URL(`http://x${path}`), "llm-router");
  assert.equal(sub("/x-llm-router/llm-router/a"), "/a");
  assert.equal(sub("/llm-routerx/a"), "/llm-routerx/a");
  assert.equal(sub("/a/llm-router-b/llm-router"), "/");
  assert.equal(sub("/llm-router/llm-router/x"), "/llm-router/x");
  assert.equal(sub("/llm-router//x///"), "//x");
});

Deno.test("sameSecret: true for the exact secret only, however often the same one is asked about", async () => {
  const secret = "job-secret-0123456789-abcdef";
  for (let i = 0; i < 3; i++) {
    assert.equal(await sameSecret(secret, secret), true);
    assert.equal(await sameSecret(`${secret}x`, secret), false);
    assert.equal(await sameSecret(secret.slice(0, -1), secret), false);
    assert.equal(await sameSecret("", secret), false);
  }
  assert.equal(await sameSecret(secret, "another-secret-0123456789"), false);
});

Deno.test("requestIdOf: keeps a sane caller id, replaces a hostile one", () => {
  assert.equal(
    requestIdOf(new Request("http://x", { headers: { "x-request-id": "req-12345678" } })),
    "req-12345678",
  );
  const generated = requestIdOf(
    new Request("http://x", { headers: { "x-request-id": "<script>" } }),
  );
  assert.match(generated, /^[0-9a-f-]{36}$/);
});

Deno.test("redactSecrets: provider keys, bearer tokens, JWTs and key=value pairs are removed", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXN0dWZm";
  const text = [
    "Incorrect API key provided: sk-proj-AbCdEf0123456789xyz.",
    "anthropic sk-ant-api03-AbCdEf0123456789",
    "legacy sk-AbCdEf0123456789abcdef",
    "Authorization: Bearer abcdefghijklmnop",
    `token ${jwt}`,
    "https://x/?api_key=supersecretvalue&x=1",
    '{"x-api-key": "k-1234567890"}',
    "groq gsk_ABCDEFGHIJKLMNOP1234 xai xai-ABCDEFGHIJKLMNOP google AIzaSyA1234567890abcdefghijkl",
  ].join("\n");
  const out = redactSecrets(text);
  for (
    const secret of [
      "AbCdEf0123456789",
      "abcdefghijklmnop",
      jwt,
      "supersecretvalue",
      "k-1234567890",
      "ABCDEFGHIJKLMNOP",
      "SyA1234567890",
    ]
  ) {
    assert.ok(!out.includes(secret), `${secret} survived: ${out}`);
  }
  assert.match(out, /sk-proj-\[redacted\]/);
  assert.equal(redactSecrets("nothing to hide here"), "nothing to hide here");
});

Deno.test("maskKey: shows only the last four characters of a key", () => {
  assert.equal(maskKey("sk-1234567890abcdef"), "…cdef");
  assert.equal(maskKey("short"), "****");
  assert.equal(maskKey(undefined), "(not set)");
});

Deno.test("jsonLogger: every string field is redacted before it is written", () => {
  const lines: string[] = [];
  const log = jsonLogger("fn", (_level, line) => lines.push(line));
  log.error("upstream_failed", { detail: "bad key sk-proj-AbCdEf0123456789xyz", count: 3 });
  const record = JSON.parse(lines[0]);
  assert.equal(record.fn, "fn");
  assert.equal(record.level, "error");
  assert.equal(record.count, 3);
  assert.ok(!lines[0].includes("AbCdEf0123456789"));
});

Deno.test("jwt: what Hs256Jwt signs the verifier accepts; expiry, nbf and signature are enforced", async () => {
  const secret = "a-secret-of-at-least-32-characters-long!";
  const jwt = new Hs256Jwt(secret);
  const now = 1_800_000_000;
  let clock = now * 1_000;
  const verifier = new JwtVerifier({ hs256Secret: secret, now: () => clock });
  const reason = (reason: string) => (e: unknown) =>
    e instanceof JwtVerifyError && e.reason === reason;
  const token = await jwt.sign({ sub: "u1", role: "authenticated", exp: now + 60 });
  assert.equal((await verifier.verify(token)).sub, "u1");
  const early = await jwt.sign({ sub: "u1", exp: now + 600, nbf: now + 300 });
  await assert.rejects(verifier.verify(early), reason("not_yet_valid"));
  const other = new JwtVerifier({ hs256Secret: "another-secret-of-at-least-32-characters" });
  await assert.rejects(other.verify(token), reason("bad_signature"));
  await assert.rejects(verifier.verify("a.b"), reason("malformed"));
  clock += 120_000;
  await assert.rejects(verifier.verify(token), reason("expired"));
});

Deno.test("base64url: round-trips bytes and rejects foreign characters", () => {
  const bytes = new Uint8Array([0, 255, 62, 63, 128, 1]);
  assert.deepEqual(base64UrlDecode(base64UrlEncode(bytes)), bytes);
  assert.throws(() => base64UrlDecode("ab+/"), TypeError);
});

Deno.test("retryAfterMs: retry-after-ms, seconds and HTTP dates", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "250" }), now), 250);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "3" }), now), 3000);
  assert.equal(
    retryAfterMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), now),
    5000,
  );
  assert.equal(retryAfterMs(new Headers(), now), undefined);
});

Deno.test("upstream errors: a key echoed by the provider never reaches our message", async () => {
  const response = new Response(
    JSON.stringify({
      error: {
        message: "Incorrect API key provided: sk-proj-AbCdEf0123456789xyz",
        code: "invalid_request",
      },
    }),
    { status: 400 },
  );
  const error = await upstreamErrorFromResponse(response, Date.now());
  assert.equal(error.status, 502);
  assert.ok(!error.message.includes("AbCdEf0123456789"));
  const quota = await upstreamErrorFromResponse(
    new Response(JSON.stringify({ error: { message: "quota", code: "insufficient_quota" } }), {
      status: 429,
    }),
    Date.now(),
  );
  assert.equal(quota.code, "PROVIDER_QUOTA_EXCEEDED");
  assert.equal(quota.retryable, false);
});

Deno.test("clipInput: long input is cut to 100 characters with an ellipsis, well-formed, NUL shown", () => {
  assert.equal(clipInput("short"), "short");
  assert.equal(clipInput("a".repeat(150)), `${"a".repeat(100)}…`);
  // A cut through a surrogate pair would leave a lone surrogate.
  const cut = clipInput(`${"a".repeat(99)}😀tail`);
  assert.ok(cut.isWellFormed());
  assert.equal(clipInput("a\u0000b"), "a\\0b");
  assert.equal(clipInput("x".repeat(300), 200).length, 201);
});

Deno.test("errors: any HttpError stays small, and validationError clips the field it names", () => {
  const error = new HttpError(400, "X", "m".repeat(5_000), { field: "f".repeat(5_000), n: 1 });
  assert.ok(error.message.length <= 1_001);
  assert.ok(String(error.details.field).length <= 301);
  assert.equal(error.details.n, 1);
  const field = validationError(`messages[0].${"k".repeat(1_000)}`, "unknown field");
  assert.equal(field.details.field, `messages[0].${"k".repeat(88)}…`);
  assert.ok(field.message.length < 200);
});

Deno.test("checkRequestJson: clean bodies pass; a bad string or key is named by its path", () => {
  checkRequestJson({ a: [{ b: "fine", c: [1, null, true] }], "é😀": "ok" });
  const at = (body: object) => {
    try {
      checkRequestJson(body);
    } catch (error) {
      assert.ok(error instanceof HttpError && error.status === 400);
      return [error.details.field, error.message];
    }
    return undefined;
  };
  assert.deepEqual(at({ a: [{ b: "x\ud800" }] })?.[0], "a[0].b");
  assert.match(String(at({ a: [{ b: "x\ud800" }] })?.[1]), /lone surrogate/);
  assert.deepEqual(at({ list: ["ok", "n\u0000ul"] })?.[0], "list[1]");
  assert.deepEqual(at({ outer: { "bad\udfff": 1 } })?.[0], "outer.bad\ufffd");
  assert.match(String(at({ ["k".repeat(257)]: 1 })?.[1]), /field name must be at most 256/);
  assert.deepEqual(at([[["ok", "\ud83d"]]] as unknown as object)?.[0], "[0][0][1]");
});

Deno.test("checkRequestJson: 64 levels pass, 65 are a 400 naming the path, 100,000 do not overflow", () => {
  const nested = (depth: number) => {
    let value: Record<string, unknown> = {};
    for (let i = 1; i < depth; i++) value = { n: value };
    return value;
  };
  checkRequestJson(nested(MAX_JSON_DEPTH));
  assert.throws(() => checkRequestJson(nested(MAX_JSON_DEPTH + 1)), (error: unknown) => {
    assert.ok(error instanceof HttpError);
    // The 65th container sits at n.n…n (64 keys); the field shown is that path, clipped.
    assert.equal(error.details.field, clipInput(Array(MAX_JSON_DEPTH).fill("n").join(".")));
    assert.match(error.message, /more than 64 levels/);
    return true;
  });
  const deep = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`);
  assert.throws(() => checkRequestJson(deep), (error: unknown) => error instanceof HttpError);
});
