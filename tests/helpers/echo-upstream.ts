/**
 * An upstream that refuses every request with a 400 whose message echoes the
 * key it was sent, transformed the way real upstreams and proxies do it:
 * URL-encoded, base64'd (alone or inside a Basic credential), JSON-escaped,
 * or masked behind a prefix no redaction pattern knows. Speaks enough of
 * both wire protocols' error shape for the OpenAI and Anthropic SDKs.
 */
import { serveOnLoopback } from "./direct-world.ts";

/** The ways the key is echoed; each request echoes the one `form` names. */
export const ECHO_FORMS = {
  raw: (key: string) => key,
  url: (key: string) => encodeURIComponent(key),
  base64: (key: string) => btoa(key),
  basic: (key: string) => btoa(`user:${key}`),
  base64url: (key: string) =>
    btoa(`x${key}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""),
  json: (key: string) => JSON.stringify({ key }).replaceAll("/", "\\/"),
  masked: (key: string) => `${key.slice(0, 8)}${"*".repeat(24)}${key.slice(-4)}`,
} as const;

/** A form's name. */
export type EchoForm = keyof typeof ECHO_FORMS;

/** The running upstream. */
export interface EchoUpstream {
  /** Base URL for `<PROVIDER>_BASE_URL` (OpenAI-style, ends in `/v1`). */
  url: string;
  /** The form the next answers echo. */
  form: EchoForm;
  /** Every key it was sent. */
  keys: string[];
  close(): Promise<void>;
}

/** Starts the upstream on a loopback port. */
export function startEchoUpstream(): EchoUpstream {
  const upstream: EchoUpstream = {
    url: "",
    form: "raw",
    keys: [],
    close: async () => await server.close(),
  };
  const server = serveOnLoopback(async (request) => {
    await request.body?.cancel();
    const key = request.headers.get("x-api-key") ??
      request.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
    upstream.keys.push(key);
    const message = `Incorrect API key provided: ${ECHO_FORMS[upstream.form](key)}. Check it.`;
    return Response.json(
      { type: "error", error: { type: "invalid_request_error", code: null, message } },
      { status: 400 },
    );
  });
  upstream.url = `${server.url}/v1`;
  return upstream;
}
