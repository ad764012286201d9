/** The suite's secret scan finds what it must and nothing else. */
import assert from "node:assert/strict";
import { findSecrets, secretLiteralsIn } from "../scripts/test/log-scan.ts";

const KEY = "sk-test-scan-0123456789abcdef";

Deno.test("log scan: a test's key in a log line is found, and the report does not repeat it", () => {
  const text = [
    `{"level":"info","event":"llm_request","provider":"openai"}`,
    `{"level":"warn","event":"llm_request_failed","detail":"key ${KEY} refused"}`,
  ].join("\n");
  const findings = findSecrets(text, [KEY]);
  assert.equal(findings.length, 1);
  assert.equal(findings[0].line, 2);
  assert.ok(!findings[0].excerpt.includes(KEY));
});

Deno.test("log scan: a test's key URL-encoded, base64'd or masked is found too", () => {
  const key = "tnt+scan/0123456789=abcdefXYZ";
  for (
    const echo of [
      encodeURIComponent(key),
      btoa(key),
      btoa(`user:${key}`),
      `${key.slice(0, 6)}**********${key.slice(-4)}`,
    ]
  ) {
    const findings = findSecrets(`{"event":"x","detail":"said ${echo}"}`, [key]);
    assert.equal(findings.length, 1, echo);
    assert.equal(findings[0].reason, "a test's secret");
    assert.ok(!findings[0].excerpt.includes(echo), findings[0].excerpt);
  }
});

Deno.test("log scan: secret-shaped values (keys, JWTs, bearer tokens) are found without a list", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
  for (const secret of ["sk-proj-abcdefghijklmnopqrstuvwxyz0123", jwt, `Bearer ${jwt}`]) {
    const findings = findSecrets(`{"event":"x","detail":"${secret}"}`, []);
    assert.equal(findings.length, 1, secret.slice(0, 12));
  }
});

Deno.test("log scan: masked keys, clean lines and non-log output pass", () => {
  const text = [
    `{"event":"router_ready","keys":"openai=…enai"}`,
    `user token:       eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ`,
    `{"event":"llm_request","costUsd":0.0001}`,
  ].join("\n");
  assert.deepEqual(findSecrets(text, ["sk-test-router-openai"]), []);
});

Deno.test("log scan: the secrets to look for are the key-like literals of the test sources", () => {
  const sources = [
    `const A = "sk-ant-test-router"; const B = 'service-role-key-for-x-0123';`,
    'const C = `job-secret-for-tests-0123456789`; const D = "sk-"; const E = "hello";',
    'const F = "tnt+live/Key0123456789=abc";',
  ];
  assert.deepEqual(secretLiteralsIn(sources).sort(), [
    "job-secret-for-tests-0123456789",
    "service-role-key-for-x-0123",
    "sk-ant-test-router",
    "tnt+live/Key0123456789=abc",
  ]);
});
