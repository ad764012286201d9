/** Comparing a presented secret with the configured one without leaking it through timing. */

/**
 * Digests of the configured side (`expected`): a deployment compares against
 * a handful of keys on every server call, so each is hashed once. Bounded,
 * in case a caller passes ever new values as `expected`.
 */
const expectedDigests = new Map<string, Promise<ArrayBuffer>>();
const MAX_EXPECTED_DIGESTS = 64;

const digest = (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/**
 * Whether `given` equals `expected`, compared through their SHA-256 digests
 * (fixed length, constant-time loop), so neither length nor a matching
 * prefix shows in the response time.
 */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  let known = expectedDigests.get(expected);
  if (!known) {
    if (expectedDigests.size >= MAX_EXPECTED_DIGESTS) expectedDigests.clear();
    expectedDigests.set(expected, known = digest(expected));
  }
  const [a, b] = await Promise.all([digest(given), known]);
  const left = new Uint8Array(a);
  const right = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff |= left[i] ^ right[i];
  return diff === 0;
}
