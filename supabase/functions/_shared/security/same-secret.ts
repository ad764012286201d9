/** Comparing a presented secret with the configured one without leaking it through timing. */

/**
 * Whether `given` equals `expected`, compared through their SHA-256 digests
 * (fixed length, constant-time loop), so neither length nor a matching
 * prefix shows in the response time.
 */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all(
    [given, expected].map((s) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))),
  );
  const left = new Uint8Array(a);
  const right = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff |= left[i] ^ right[i];
  return diff === 0;
}
