/** The caller-side client in shared/: text deltas out, gateway errors as GatewayError. */
import assert from "node:assert/strict";
import { GatewayError, streamChat } from "../shared/client/stream-chat.ts";
import { directWorld } from "./helpers/direct-world.ts";

async function clientWorld(env: Record<string, string> = {}) {
  const world = await directWorld({ env });
  const fetchViaHandler =
    ((input: string, init?: RequestInit) =>
      world.handler(new Request(input, init))) as typeof fetch;
  const pieces: string[] = [];
  /** Streams a reply to "Hi" into `pieces`. */
  const chat = async () => {
    const stream = streamChat({
      url: "http://localhost/functions/v1/ai-chat-direct",
      fetch: fetchViaHandler,
      accessToken: world.token,
      messages: [{ role: "user", content: "Hi" }],
    });
    for await (const text of stream) pieces.push(text);
  };
  return { world, chat, pieces };
}

Deno.test("client: streamChat yields the reply text piece by piece", async () => {
  const { world, chat, pieces } = await clientWorld();
  try {
    await chat();
    assert.equal(pieces.length, 20);
    assert.match(pieces.join(""), /^Mock reply to: Hi/);
  } finally {
    await world.close();
  }
});

Deno.test("client: a JSON error becomes a GatewayError with code, status and retry-after", async () => {
  const { world, chat } = await clientWorld({
    DIRECT_CHAT_MODEL: "gpt-4o-mini::status=429,retry-after=9",
  });
  try {
    await assert.rejects(chat, (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.code, "RATE_LIMIT");
      assert.equal(error.status, 429);
      assert.equal(error.retryAfterMs, 9000);
      return true;
    });
  } finally {
    await world.close();
  }
});

Deno.test("client: an error event mid-stream is thrown after the text that came before it", async () => {
  const { world, chat, pieces } = await clientWorld({ DIRECT_CHAT_MODEL: "gpt-4o-mini::cut=5" });
  try {
    await assert.rejects(
      chat,
      (error: unknown) => error instanceof GatewayError && error.code === "STREAM_TRUNCATED",
    );
    assert.equal(pieces.length, 4);
  } finally {
    await world.close();
  }
});
