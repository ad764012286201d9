/**
 * A canned OpenAI for `scripts/bench/direct-guards.ts`: every
 * `POST /v1/chat/completions` gets the same streamed reply (20 words, then a
 * usage chunk and `[DONE]`), prepared once, so the upstream costs next to
 * nothing and whatever the gateway adds stands out. `Deno.serve` shrugs off
 * a load generator dropping connections mid-request at the end of a run.
 *
 * `deno run -A scripts/bench/canned-openai.ts` with PORT set.
 */
const port = Number(Deno.env.get("PORT") ?? 54397);
const chunk = (fields: Record<string, unknown>) =>
  `data: ${
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "gpt-4o-mini",
      ...fields,
    })
  }\n\n`;
const words = Array.from({ length: 20 }, (_, i) => `word${i} `);
const reply = new TextEncoder().encode(
  [
    chunk({
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    }),
    ...words.map((word) =>
      chunk({ choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })
    ),
    chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
    chunk({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 20, total_tokens: 40 } }),
    "data: [DONE]\n\n",
  ].join(""),
);

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
  if (request.method !== "POST") return new Response("ok");
  await request.body?.cancel();
  return new Response(reply, { headers: { "content-type": "text/event-stream" } });
});
