/**
 * The benchmark's upstream: an OpenAI that answers every
 * `POST /v1/chat/completions` with bytes prepared once — a chat completion,
 * or (when the body asks for `"stream":true`) a 20-word SSE stream with a
 * usage chunk — so it costs next to nothing and whatever a gateway adds
 * stands out. The bench checks it is clearly faster than the bare proxy.
 *
 * `deno run -A scripts/bench/canned-upstream.ts` with PORT set.
 */
const port = Number(Deno.env.get("PORT") ?? 54397);
const encoder = new TextEncoder();
const MODEL = "gpt-4o-mini";
const words = Array.from({ length: 20 }, (_, i) => `word${i} `);
const usage = { prompt_tokens: 20, completion_tokens: 20, total_tokens: 40 };

const json = encoder.encode(JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: MODEL,
  choices: [{
    index: 0,
    message: { role: "assistant", content: words.join(""), refusal: null },
    finish_reason: "stop",
    logprobs: null,
  }],
  usage,
}));

const chunk = (fields: Record<string, unknown>) =>
  `data: ${
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: MODEL,
      ...fields,
    })
  }\n\n`;
const stream = encoder.encode([
  chunk({
    choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
  }),
  ...words.map((word) =>
    chunk({ choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })
  ),
  chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
  chunk({ choices: [], usage }),
  "data: [DONE]\n\n",
].join(""));

const STREAM_FLAG = encoder.encode('"stream":true');

/** Whether `body` holds `"stream":true` (no JSON parse: the upstream must stay cheap). */
function asksForStream(body: Uint8Array): boolean {
  outer: for (let i = 0; i <= body.length - STREAM_FLAG.length; i++) {
    for (let j = 0; j < STREAM_FLAG.length; j++) {
      if (body[i + j] !== STREAM_FLAG[j]) continue outer;
    }
    return true;
  }
  return false;
}

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
  if (request.method !== "POST") return new Response("ok");
  const body = new Uint8Array(await request.arrayBuffer());
  return asksForStream(body)
    ? new Response(stream, { headers: { "content-type": "text/event-stream" } })
    : new Response(json, { headers: { "content-type": "application/json" } });
});
