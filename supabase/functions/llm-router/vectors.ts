/** Encoding embedding vectors the way OpenAI's `encoding_format: "base64"` does. */

/** Float32 little-endian bytes of `vector`, base64-encoded. */
export function vectorToBase64(vector: readonly number[]): string {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
