/**
 * The HTTP side of a provider adapter: `POST` a JSON body with the adapter's
 * headers and hand back a 2xx answer, or throw the classified `LLMError`.
 * The official SDKs did this before; their per-request machinery (header
 * merging, request options, retries we disabled, their logger) was among the
 * largest costs of a routed request, and this needs none of it. Everything
 * that does not change between requests (headers, URLs) is built once per adapter.
 */
import type { ProviderFailures } from "./failures.ts";

/**
 * Sent when no key is configured: local servers need none, and a provider
 * that does answers 401, which classifies as INVALID_API_KEY.
 */
export const PLACEHOLDER_KEY = "no-key";

/** `path` under `baseUrl`, one slash between them (as the SDKs join them). */
export function endpoint(baseUrl: string, path: string): string {
  return baseUrl.endsWith("/") ? baseUrl + path.slice(1) : baseUrl + path;
}

/** One adapter's way of calling its provider. */
export class ProviderHttpClient {
  /** Classifies this adapter's failures (also those the adapter finds in an answer). */
  readonly failures: ProviderFailures;
  readonly #fetch: typeof fetch;
  readonly #headers: Readonly<Record<string, string>>;

  /** `headers` are the protocol's own (auth, version); JSON content headers are added. */
  constructor(fetchFn: typeof fetch, headers: Record<string, string>, failures: ProviderFailures) {
    this.#fetch = fetchFn;
    this.#headers = Object.freeze({
      ...headers,
      "content-type": "application/json",
      accept: "application/json",
    });
    this.failures = failures;
  }

  /** POSTs `body` (JSON text) to `url`; the 2xx answer, or the classified `LLMError` thrown. */
  async post(url: string, body: string, model: string, signal: AbortSignal): Promise<Response> {
    const send = this.#fetch;
    let response: Response;
    try {
      response = await send(url, { method: "POST", headers: this.#headers, body, signal });
    } catch (error) {
      throw this.failures.thrown(error, model, signal);
    }
    if (!response.ok) throw await this.failures.status(response, model, signal);
    return response;
  }

  /** POSTs `body` and parses the answer as JSON; a cut or unreadable body is a classified failure. */
  async json<T>(url: string, body: string, model: string, signal: AbortSignal): Promise<T> {
    const response = await this.post(url, body, model, signal);
    try {
      return await response.json() as T;
    } catch (error) {
      throw this.failures.thrown(error, model, signal);
    }
  }
}
