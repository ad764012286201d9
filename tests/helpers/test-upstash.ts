/**
 * Upstash Redis for tests. Under `deno task test` every file shares one
 * redis-server behind the REST bridge (TEST_UPSTASH_URL, TEST_UPSTASH_TOKEN);
 * a file run on its own starts its own. Shared or not, give every key a
 * `uniquePrefix()` so tests never see each other's data.
 */
import { startTestUpstash } from "../../scripts/test/redis.ts";

/** Where `new Redis({ url, token })` should point for one test. */
export interface TestUpstashEndpoint {
  url: string;
  token: string;
  /** Stops the server this call started; a no-op for the suite's shared one. */
  close(): Promise<void>;
}

/** The suite's shared bridge when there is one, else a fresh redis-server and bridge. */
export async function testUpstash(): Promise<TestUpstashEndpoint> {
  const url = Deno.env.get("TEST_UPSTASH_URL");
  const token = Deno.env.get("TEST_UPSTASH_TOKEN");
  if (url && token) return { url, token, close: () => Promise.resolve() };
  const own = await startTestUpstash();
  return { url: own.url, token: own.token, close: () => own.stop() };
}

/** A random key prefix such as `t:3f9c2a1b7e4d:`. */
export function uniquePrefix(): string {
  return `t:${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}:`;
}
