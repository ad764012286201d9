/**
 * Golden translation: one conversation asked through chat completions,
 * Messages and Responses (the official SDKs, each streamed through its own
 * stream helper and not streamed), served by an OpenAI-compatible model and
 * by Claude, comes back as the same answer described the same way in every
 * dialect: text, tool calls (arguments split over many deltas, several in
 * parallel), images in, stop reasons, cache read usage, thinking with its
 * signature, reasoning tokens, a failure mid-stream. Cost parity: every one
 * of those requests records the same tokens and cost in llm_usage, streamed
 * or not, whatever the dialect, cached and reasoning tokens included.
 */
import assert from "node:assert/strict";
import {
  ask,
  askFailingStream,
  type Conversation,
  type DescribedAnswer,
  type Dialect,
  dialectClients,
  DIALECTS,
} from "./helpers/dialect-clients.ts";
import { type RouterHttpWorld, routerHttpWorld } from "./helpers/router-http-world.ts";
import { freshDb, type TestDb } from "./helpers/test-db.ts";

/** A 1×1 transparent PNG. */
const PIXEL =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

const weather = {
  name: "get_weather",
  schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const clock = {
  name: "get_time",
  schema: { type: "object", properties: { zone: { type: "string" }, hours: { type: "integer" } } },
};

/** A usage row as cost parity compares it. */
type UsageRow = {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_usd: string;
  streamed: boolean;
  status: string;
};

interface Asked {
  dialect: Dialect;
  stream: boolean;
  answer: DescribedAnswer;
  row: UsageRow;
}

async function withWorld(fn: (world: RouterHttpWorld, database: TestDb) => Promise<void>) {
  const database = await freshDb();
  const world = await routerHttpWorld({}, { db: database.db });
  try {
    await fn(world, database);
  } finally {
    await world.close();
    await database.close();
  }
}

/** The newest llm_usage row, once the request's background writes are done. */
async function lastUsageRow(world: RouterHttpWorld, database: TestDb): Promise<UsageRow> {
  await world.settle();
  const rows = await database.db.query<UsageRow>(
    `select input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens,
            cost_usd::text as cost_usd, streamed, status
       from llm_usage order by id desc limit 1`,
  );
  assert.equal(rows.length, 1, "a usage row was written");
  return rows[0];
}

/**
 * Asks `conversation` in every dialect, JSON then stream; `before` runs
 * before each (e.g. to reset the mock's prompt cache).
 */
async function askEverywhere(
  world: RouterHttpWorld,
  database: TestDb,
  conversation: Conversation,
  dialects: readonly Dialect[] = DIALECTS,
  before: () => Promise<void> | void = () => {},
): Promise<Asked[]> {
  const clients = dialectClients(world.url, world.memberToken);
  const asked: Asked[] = [];
  for (const dialect of dialects) {
    for (const stream of [false, true]) {
      await before();
      const answer = await ask(clients, dialect, conversation, stream);
      asked.push({ dialect, stream, answer, row: await lastUsageRow(world, database) });
    }
  }
  return asked;
}

const label = (a: Asked) => `${a.dialect} ${a.stream ? "stream" : "json"}`;

/** What every dialect must say alike: the answer without dialect-only details. */
const common = ({ argumentDeltas: _d, signatures: _s, ...rest }: DescribedAnswer) => rest;
/** A usage row without the one field that differs by design. */
const billed = ({ streamed: _s, ...rest }: UsageRow) => rest;

/** Every answer and every usage row equals the first's; returns the first answer. */
function assertAllAlike(asked: Asked[]): DescribedAnswer {
  const [first] = asked;
  for (const a of asked.slice(1)) {
    assert.deepEqual(common(a.answer), common(first.answer), `${label(a)} vs ${label(first)}`);
    assert.deepEqual(billed(a.row), billed(first.row), `usage row: ${label(a)} vs ${label(first)}`);
    assert.equal(a.row.streamed, a.stream, `${label(a)} recorded as streamed=${a.row.streamed}`);
  }
  return first.answer;
}

for (const model of ["gpt-4o-mini", "claude-haiku-4-5"]) {
  Deno.test(`golden (${model}): a text answer with a system prompt`, async () => {
    await withWorld(async (world, database) => {
      const answer = assertAllAlike(
        await askEverywhere(world, database, {
          model,
          system: "Be brief.",
          user: "Hello gateway",
          maxTokens: 200,
        }),
      );
      assert.match(answer.text, /^Mock reply to: Hello gateway/);
      assert.equal(answer.stop, "end");
      assert.deepEqual(answer.toolCalls, []);
      assert.equal(answer.usage.output, 20);
    });
  });

  Deno.test(`golden (${model}): parallel tool calls, arguments streamed in many pieces`, async () => {
    await withWorld(async (world, database) => {
      const asked = await askEverywhere(world, database, {
        model,
        user: "Call get_weather and get_time for Paris",
        tools: [weather, clock],
        maxTokens: 200,
      });
      const answer = assertAllAlike(asked);
      assert.equal(answer.stop, "tool");
      assert.deepEqual(answer.toolCalls, [
        { name: "get_weather", args: { city: "sample-city" } },
        { name: "get_time", args: { zone: "sample-zone", hours: 1 } },
      ]);
      for (const a of asked.filter((a) => a.stream)) {
        // Each call's arguments came in several deltas, and the SDK still read them whole.
        assert.ok(a.answer.argumentDeltas! > 4, `${label(a)}: ${a.answer.argumentDeltas} deltas`);
      }
    });
  });

  Deno.test(`golden (${model}): an image reaches the provider in its own form`, async () => {
    await withWorld(async (world, database) => {
      const before = world.mock.requests.length;
      const answer = assertAllAlike(
        await askEverywhere(world, database, {
          model,
          user: "What is in this picture?",
          imagePng: PIXEL,
          maxTokens: 200,
        }),
      );
      assert.match(answer.text, /^Mock reply to: What is in this picture\?/);
      const sent = world.mock.requests.slice(before).map((r) => JSON.stringify(r.body));
      assert.equal(sent.length, 6);
      for (const body of sent) {
        if (model.startsWith("claude")) {
          assert.match(body, /"type":"image","source":\{"type":"base64","media_type":"image\/png"/);
        } else {
          assert.match(body, /"type":"image_url","image_url":\{"url":"data:image\/png;base64,/);
        }
      }
    });
  });

  Deno.test(`golden (${model}): the token limit stops the answer the same way`, async () => {
    await withWorld(async (world, database) => {
      const answer = assertAllAlike(
        await askEverywhere(world, database, { model, user: "Tell me a story", maxTokens: 5 }),
      );
      assert.equal(answer.stop, "length");
      assert.equal(answer.usage.output, 5);
    });
  });

  Deno.test(`golden (${model}): a failure mid-stream, after text went out, is an error with the gateway's code`, async () => {
    await withWorld(async (world) => {
      const clients = dialectClients(world.url, world.memberToken);
      const failures = [];
      for (const dialect of DIALECTS) {
        world.mock.queueFault("error-event=4", 1);
        failures.push(
          await askFailingStream(clients, dialect, { model, user: "fail midway", maxTokens: 200 }),
        );
      }
      const [first] = failures;
      assert.ok(first.textBeforeError.length > 0, "some text was streamed before the failure");
      assert.equal(first.code, "PROVIDER_ERROR");
      for (const failure of failures.slice(1)) assert.deepEqual(failure, first);
    });
  });
}

Deno.test("golden (claude-sonnet-4-6): thinking comes back with its signature, its tokens billed as output", async () => {
  await withWorld(async (world, database) => {
    const asked = await askEverywhere(world, database, {
      model: "claude-sonnet-4-6",
      user: "Why is the sky blue?",
      maxTokens: 4000,
      reasoning: { effort: "low", messagesThinkingBudget: 1024 },
    });
    const answer = assertAllAlike(asked);
    assert.match(answer.reasoning, /^Thinking about: Why is the sky blue\?/);
    assert.ok(answer.usage.reasoning > 0);
    assert.equal(answer.usage.output, 20 + answer.usage.reasoning);
    assert.ok(asked[0].row.reasoning_tokens === answer.usage.reasoning);
    // Messages and Responses carry the signature (Responses as encrypted_content), intact.
    const signed = asked.filter((a) => a.dialect !== "chat").map((a) => a.answer.signatures);
    assert.equal(signed.length, 4);
    for (const signatures of signed) {
      assert.equal(signatures?.length, 1);
      assert.match(signatures![0], /^sig_mock_[0-9a-f]{8}$/);
      assert.deepEqual(signatures, signed[0]);
    }
  });
});

Deno.test("golden (o4-mini): an effort in every dialect reaches OpenAI as reasoning_effort; reasoning tokens counted", async () => {
  await withWorld(async (world, database) => {
    const before = world.mock.requests.length;
    const answer = assertAllAlike(
      await askEverywhere(world, database, {
        model: "o4-mini",
        user: "Plan a trip",
        maxTokens: 2000,
        reasoning: { effort: "low" },
      }),
    );
    for (const request of world.mock.requests.slice(before)) {
      assert.equal((request.body as { reasoning_effort?: string }).reasoning_effort, "low");
    }
    assert.ok(answer.usage.reasoning > 0);
    assert.equal(answer.usage.output, 20 + answer.usage.reasoning);
  });
});

const LONG_SYSTEM = "You answer questions about the gateway's documentation. ".repeat(120);

Deno.test("golden (gpt-4o-mini): a repeated long prompt is read from the cache, described and billed alike", async () => {
  await withWorld(async (world, database) => {
    const conversation = { model: "gpt-4o-mini", system: LONG_SYSTEM, user: "Hi", maxTokens: 50 };
    // OpenAI caches on its own: the first ask writes, every later one reads.
    await ask(dialectClients(world.url, world.memberToken), "chat", conversation, false);
    const answer = assertAllAlike(await askEverywhere(world, database, conversation));
    assert.ok(answer.usage.cacheRead >= 1024, `${answer.usage.cacheRead} cached`);
  });
});

Deno.test("golden (claude-haiku-4-5): a marked system prompt is written to the cache, then read; streamed and not alike", async () => {
  await withWorld(async (world, database) => {
    const conversation = {
      model: "claude-haiku-4-5",
      system: LONG_SYSTEM,
      cacheSystem: true,
      user: "Hi",
      maxTokens: 50,
    };
    // The Responses API has no cache marker, so only chat completions (cache_control on a
    // content part) and Messages can ask Claude to cache. Each ask starts with a cold cache.
    const writes = await askEverywhere(
      world,
      database,
      conversation,
      ["chat", "messages"],
      () => world.mock.reset(),
    );
    const written = assertAllAlike(writes);
    assert.equal(written.usage.cacheRead, 0);
    assert.ok(
      writes[0].row.cache_write_tokens > 1000,
      `${writes[0].row.cache_write_tokens} written`,
    );

    const reads = await askEverywhere(world, database, conversation, ["chat", "messages"]);
    const read = assertAllAlike(reads);
    assert.equal(read.usage.cacheRead, writes[0].row.cache_write_tokens);
    assert.equal(reads[0].row.cache_write_tokens, 0);
    // A cached read costs less than the write that put it there.
    assert.ok(Number(reads[0].row.cost_usd) < Number(writes[0].row.cost_usd));
  });
});
