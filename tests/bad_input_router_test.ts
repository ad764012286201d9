/**
 * Text that would poison the database or blow a stack is refused at the door
 * with a 400 naming where it is: lone surrogates and NUL in any string, key,
 * path or query parameter, and JSON nested too deep. And an error never
 * echoes more than a clipped quote of what the caller sent.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld } from "./helpers/router-http-world.ts";
import { directWorld } from "./helpers/direct-world.ts";

/** A JSON schema nested `depth` objects deep through `properties.a`. */
function deepSchema(depth: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < depth; i++) schema = { type: "object", properties: { a: schema } };
  return schema;
}

Deno.test("door: a lone surrogate in agentId is a 400 naming agentId, before any provider call", async () => {
  const t = await routerHttpWorld();
  try {
    // JSON.stringify writes the lone surrogate as the escape \ud800: valid JSON, invalid text.
    const body = JSON.stringify({ prompt: "hi", maxTokens: 5, agentId: "bot\ud800x" });
    assert.ok(body.includes("\\ud800"));
    const response = await callJson("POST", t.url, t.memberToken, JSON.parse(body));
    assert.equal(response.status, 400);
    assert.equal(response.json.error.code, "VALIDATION_ERROR");
    assert.equal(response.json.error.field, "agentId");
    assert.match(response.json.error.message, /lone surrogate/);
    assert.equal(t.mock.requests.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("door: NUL or a lone surrogate anywhere in a chat body is a 400 with its path", async () => {
  const t = await routerHttpWorld();
  try {
    const nulAgent = await callJson("POST", t.url, t.memberToken, {
      prompt: "hi",
      agentId: "a\u0000b",
    });
    assert.equal(nulAgent.status, 400);
    assert.equal(nulAgent.json.error.field, "agentId");
    assert.match(nulAgent.json.error.message, /NUL/);

    const openAI = await callJson("POST", `${t.url}/v1/chat/completions`, t.memberToken, {
      model: "auto",
      messages: [{ role: "system", content: "ok" }, { role: "user", content: "x\udc00" }],
    });
    assert.equal(openAI.status, 400);
    assert.equal(openAI.json.error.param, "messages[1].content");
    assert.equal(openAI.json.error.type, "invalid_request_error");

    const badKey = await callJson("POST", t.url, t.memberToken, {
      prompt: "hi",
      responseFormat: { type: "json_schema", json_schema: { name: "s", schema: { "k\ud800": 1 } } },
    });
    assert.equal(badKey.status, 400);
    assert.match(badKey.json.error.field, /^responseFormat\.json_schema\.schema\.k/);
    assert.match(badKey.json.error.message, /field name/);
    assert.equal(t.mock.requests.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("door: path parameters with NUL, bad encoding or over 200 characters are 400s naming the parameter", async () => {
  const t = await routerHttpWorld();
  try {
    for (
      const [agent, reason] of [
        ["%00", /NUL/],
        ["a%00b", /NUL/],
        ["%ED%A0%80", /percent-encoded/],
        ["%ZZ", /percent-encoded/],
        ["a".repeat(201), /200 characters/],
      ] as const
    ) {
      const response = await callJson(
        "GET",
        `${t.url}/agents/${agent}/preferences`,
        t.adminToken,
      );
      assert.equal(response.status, 400, agent);
      assert.equal(response.json.error.field, "agentId");
      assert.match(response.json.error.message, reason);
    }
    const key = await callJson("PUT", `${t.url}/providers/open%00ai/key`, t.adminToken, {
      apiKey: "sk-x",
    });
    assert.equal(key.status, 400);
    assert.equal(key.json.error.field, "name");
  } finally {
    await t.close();
  }
});

Deno.test("door: PUT /budgets with a NUL agentId and DELETE /budgets?agentId=%00 are 400s", async () => {
  const t = await routerHttpWorld();
  try {
    const put = await callJson("PUT", `${t.url}/budgets`, t.adminToken, {
      agentId: "agent\u0000",
      dailyLimitUsd: 1,
    });
    assert.equal(put.status, 400);
    assert.equal(put.json.error.field, "agentId");

    const del = await callJson("DELETE", `${t.url}/budgets?agentId=%00`, t.adminToken);
    assert.equal(del.status, 400);
    assert.equal(del.json.error.field, "query.agentId");
    const long = await callJson(
      "GET",
      `${t.url}/budgets?accountId=${"a".repeat(1_001)}`,
      t.adminToken,
    );
    assert.equal(long.status, 400);
    assert.equal(long.json.error.field, "query.accountId");
  } finally {
    await t.close();
  }
});

Deno.test("door: a JSON schema or tool parameters nested 2,000 deep with cache on is a 400, not a 500", async () => {
  const t = await routerHttpWorld();
  try {
    const schema = await callJson("POST", t.url, t.memberToken, {
      prompt: "hi",
      cache: true,
      responseFormat: {
        type: "json_schema",
        json_schema: { name: "deep", schema: deepSchema(2_000) },
      },
    });
    assert.equal(schema.status, 400, schema.text.slice(0, 300));
    assert.equal(schema.json.error.code, "VALIDATION_ERROR");
    assert.match(schema.json.error.field, /^responseFormat\.json_schema\.schema\.properties\.a\./);
    assert.match(schema.json.error.message, /more than 64 levels/);

    const tool = await callJson("POST", `${t.url}/v1/chat/completions`, t.memberToken, {
      model: "auto",
      cache: true,
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "function", function: { name: "f", parameters: deepSchema(2_000) } }],
    });
    assert.equal(tool.status, 400, tool.text.slice(0, 300));
    assert.match(tool.json.error.param, /^tools\[0\]\.function\.parameters\./);
    assert.equal(t.mock.requests.length, 0);

    // A schema nested well within the limit is served, and cached.
    const fine = await callJson("POST", t.url, t.memberToken, {
      prompt: "hi",
      cache: true,
      maxTokens: 5,
      responseFormat: { type: "json_schema", json_schema: { name: "ok", schema: deepSchema(20) } },
    });
    assert.equal(fine.status, 200, fine.text.slice(0, 300));
  } finally {
    await t.close();
  }
});

Deno.test("errors: an unknown field name is quoted clipped, however long it is", async () => {
  const t = await routerHttpWorld();
  try {
    const name = `x${"y".repeat(250)}`;
    const native = await callJson("POST", t.url, t.memberToken, { prompt: "hi", [name]: 1 });
    assert.equal(native.status, 400);
    assert.equal(native.json.error.field, `${name.slice(0, 100)}…`);
    assert.ok(native.text.length < 600, `${native.text.length} bytes`);

    // A 4 MB field name is refused at the door: the error stays small.
    const huge = `k${"z".repeat(4_000_000)}`;
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.memberToken}`, "content-type": "application/json" },
      body: `{"model":"auto","messages":[{"role":"user","content":"hi"}],${
        JSON.stringify(huge)
      }:1}`,
    });
    const text = await response.text();
    assert.equal(response.status, 400);
    assert.ok(text.length < 1_000, `${text.length} bytes`);
    assert.match(JSON.parse(text).error.message, /at most 256 characters/);
  } finally {
    await t.close();
  }
});

Deno.test("door: the direct functions get the same rules and clipped field names", async () => {
  const t = await directWorld();
  try {
    const surrogate = await t.post({ messages: [{ role: "user", content: "hi\ud800" }] });
    assert.equal(surrogate.status, 400);
    assert.equal((await surrogate.json()).error.field, "messages[0].content");

    const name = `q${"w".repeat(200)}`;
    const unknown = await t.post({ messages: [{ role: "user", content: "hi" }], [name]: true });
    assert.equal(unknown.status, 400);
    const body = await unknown.json();
    assert.equal(body.error.field, `${name.slice(0, 100)}…`);
    assert.ok(body.error.message.length < 400);

    const nested = await t.post({
      messages: [{ role: "user", content: "hi", [name]: 1 }],
    });
    assert.equal(nested.status, 400);
    assert.equal((await nested.json()).error.field, `messages[0].${name}`.slice(0, 100) + "…");
    assert.equal(t.mock.requests.length, 0);
  } finally {
    await t.close();
  }
});
