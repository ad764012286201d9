/**
 * Spend and health alerts end to end, through llm-router over HTTP with a
 * database and a webhook receiver on 127.0.0.1: one threshold alert per
 * budget window however many isolates and requests cross it, one
 * circuit-open alert per outage (and a closed one on reset), signed so the
 * receiver can verify it; a failing receiver retried with backoff, a slow
 * one never waited for by the request; deliveries readable through the API;
 * the webhook API's checks, and no URL path or secret in any answer or log.
 */
import assert from "node:assert/strict";
import { callJson, routerHttpWorld, SERVICE_KEY } from "./helpers/router-http-world.ts";
import { freshDb } from "./helpers/test-db.ts";
import { signToken } from "./helpers/tokens.ts";
import { directWorld, eventually } from "./helpers/direct-world.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { verifyWebhookSignature } from "../supabase/functions/_shared/alerts/signature.ts";

const ACCOUNT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const ACCOUNT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const JOB_SECRET = "job-secret-for-alert-tests-0123456789";
const SIGNING_SECRET = "whsec_alert-tests-signing-secret-0123";
/** The part of a Slack-style URL that is its secret. */
const SECRET_PATH = "T0000/B0000/XXXXsecretPathXXXX";

interface Received {
  path: string;
  headers: Headers;
  body: string;
  json: Record<string, unknown>;
}

/** A webhook receiver on loopback; `answer` decides each delivery's status (200 by default). */
function startReceiver(answer: (received: Received, index: number) => number | Promise<number>) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    const entry = {
      path: new URL(req.url).pathname,
      headers: req.headers,
      body,
      json: JSON.parse(body),
    };
    received.push(entry);
    return new Response("ok", { status: await answer(entry, received.length - 1) });
  });
  return {
    received,
    url: (path = `/services/${SECRET_PATH}`) => `http://127.0.0.1:${server.addr.port}${path}`,
    close: () => server.shutdown(),
  };
}

async function alertWorld(
  options: { answer?: (r: Received, i: number) => number | Promise<number> } = {},
  env: Record<string, string> = {},
) {
  const database = await freshDb();
  const receiver = startReceiver(options.answer ?? (() => 200));
  const clock = { offsetMs: 0 };
  const store = new MemoryStateStore(() => Date.now() + clock.offsetMs);
  const worldEnv = {
    LLM_ALLOW_HTTP_WEBHOOKS: "loopback",
    LLM_JOB_SECRET: JOB_SECRET,
    ...env,
  };
  const isolate = () =>
    routerHttpWorld(worldEnv, {
      db: database.db,
      store,
      now: () => Date.now() + clock.offsetMs,
    });
  const worlds = [await isolate()];
  // Tokens outlive the clock moving a day ahead.
  const token = (account: string, role: string) =>
    signToken({
      sub: crypto.randomUUID(),
      app_metadata: { account_id: account, role },
      exp: Math.floor(Date.now() / 1000) + 3 * 86_400,
    });
  const member = await token(ACCOUNT_A, "member");
  const admin = await token(ACCOUNT_A, "admin");
  const call = (method: string, path: string, token: string, body?: unknown, world = 0) =>
    callJson(method, `${worlds[world].url}${path}`, token, body);
  const settle = async () => {
    for (const world of worlds) await world.settle();
  };
  return {
    worlds,
    db: database.db,
    store,
    receiver,
    clock,
    admin,
    member,
    adminB: await token(ACCOUNT_B, "admin"),
    /** Another isolate of the same deployment: the same database and store. */
    async addIsolate() {
      worlds.push(await isolate());
      return worlds.length - 1;
    },
    call,
    /** Sets account A's budget (as its admin). */
    async budget(body: Record<string, unknown>) {
      const saved = await call("PUT", "/budgets", admin, body);
      assert.equal(saved.status, 200, saved.text);
    },
    ask: (world = 0, token = member) =>
      call("POST", "", token, { prompt: "hello there", maxTokens: 50 }, world),
    settle,
    /** Runs due jobs (deliveries included) as the sweep would, every isolate's queued work first. */
    async sweep() {
      await settle();
      const response = await fetch(`${worlds[0].url}/jobs/sweep`, {
        method: "POST",
        headers: { "x-job-secret": JOB_SECRET, "content-type": "application/json" },
        body: JSON.stringify({ wait: true }),
      });
      return await response.json();
    },
    logs: () => worlds.flatMap((world) => world.logs).join("\n"),
    async close() {
      await settle();
      for (const world of worlds) await world.close();
      await receiver.close();
      await database.close();
    },
  };
}

Deno.test("alerts: a local receiver gets exactly one signed threshold alert per budget window, however many isolates and requests cross it", async () => {
  const t = await alertWorld();
  try {
    const created = await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url(),
      format: "json",
      events: ["budget.threshold"],
      secret: SIGNING_SECRET,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.signed, true);
    assert.equal(created.json.secret, undefined, "a secret the caller chose is not echoed");
    // A threshold the first request crosses ($0.00001), a limit no request here reaches.
    await t.budget({ dailyLimitUsd: 0.01, alertThreshold: 0.001 });
    const second = await t.addIsolate();
    for (const world of [0, second, 0, second]) {
      assert.equal((await t.ask(world)).status, 200);
      await t.settle();
    }
    await t.sweep();
    assert.equal(t.receiver.received.length, 1);
    const [delivery] = t.receiver.received;
    assert.equal(delivery.path, `/services/${SECRET_PATH}`);
    assert.equal(delivery.json.type, "budget.threshold");
    assert.equal(delivery.json.accountId, ACCOUNT_A);
    assert.equal(delivery.headers.get("x-llm-event"), "budget.threshold");
    const data = delivery.json.data as Record<string, unknown>;
    assert.equal(data.period, "daily");
    assert.equal(data.limitUsd, 0.01);
    assert.match(String(delivery.json.text), /^Budget alert: account aaaaaaaa-/);
    // The receiver verifies the HMAC over the raw body and the timestamp.
    const signed = {
      body: delivery.body,
      signature: delivery.headers.get("x-llm-signature"),
      timestamp: delivery.headers.get("x-llm-timestamp"),
    };
    assert.match(signed.signature!, /^sha256=[0-9a-f]{64}$/);
    assert.equal(await verifyWebhookSignature(SIGNING_SECRET, signed, Date.now()), true);
    assert.equal(
      await verifyWebhookSignature(
        SIGNING_SECRET,
        { ...signed, body: `${signed.body} ` },
        Date.now(),
      ),
      false,
    );

    // The next day is a new window: one more, and only one.
    t.clock.offsetMs = 86_400_000;
    for (const world of [second, 0]) {
      assert.equal((await t.ask(world)).status, 200);
      await t.settle();
    }
    await t.sweep();
    assert.equal(t.receiver.received.length, 2);
    const windows = t.receiver.received.map((r) => (r.json.data as { window: string }).window);
    assert.notEqual(windows[0], windows[1]);

    const listed = await t.call("GET", "/alerts/deliveries", t.admin);
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(
      listed.json.deliveries.map((
        d: { status: string; attempts: number; result: { status: number } },
      ) => [d.status, d.attempts, d.result.status]),
      [["succeeded", 1, 200], ["succeeded", 1, 200]],
    );
  } finally {
    await t.close();
  }
});

Deno.test("alerts: a spent budget sends budget.exhausted once, after the threshold", async () => {
  const t = await alertWorld();
  try {
    await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url(),
      format: "json",
      events: ["budget.threshold", "budget.exhausted"],
    });
    await t.budget({ dailyLimitUsd: 0.0000001, alertThreshold: 0.5 });
    assert.equal((await t.ask()).status, 200);
    await t.settle();
    assert.equal((await t.ask()).status, 402);
    await t.sweep();
    const types = t.receiver.received.map((r) => r.json.type).sort();
    assert.deepEqual(types, ["budget.exhausted", "budget.threshold"]);
    const exhausted = t.receiver.received.find((r) => r.json.type === "budget.exhausted")!;
    assert.match(String(exhausted.json.text), /requests are refused until/);
  } finally {
    await t.close();
  }
});

Deno.test("alerts: budget spent through a direct function reaches the webhook too, delivered by llm-router", async () => {
  const t = await alertWorld();
  const direct = await directWorld({ db: t.db, store: t.store });
  try {
    await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url(),
      format: "json",
      events: ["budget.threshold"],
    });
    await t.budget({ dailyLimitUsd: 0.01, alertThreshold: 0.001 });
    const streamed = await direct.post(
      { messages: [{ role: "user", content: "Hello there" }] },
      { token: t.member },
    );
    assert.equal(streamed.status, 200);
    await streamed.text();
    await direct.settle();
    // Queued by the direct function (no runner of its own); run by llm-router's sweep.
    assert.equal(t.receiver.received.length, 0);
    await t.sweep();
    assert.equal(t.receiver.received.length, 1);
    assert.equal(t.receiver.received[0].json.type, "budget.threshold");
  } finally {
    await direct.close();
    await t.close();
  }
});

Deno.test("alerts: a provider's circuit opening sends one circuit.opened (Slack and JSON, deployment and account); a reset sends circuit.closed", async () => {
  const t = await alertWorld({}, {
    LLM_BREAKER_FAILURES: "1",
    LLM_BREAKER_OPEN_MS: "60000",
    LLM_MAX_RETRIES: "0",
  });
  try {
    const deployment = await t.call("POST", "/alerts/webhooks", SERVICE_KEY, {
      url: t.receiver.url("/deployment"),
      format: "slack",
      events: ["circuit.opened", "circuit.closed"],
    });
    assert.equal(deployment.status, 201, deployment.text);
    assert.equal(deployment.json.accountId, null);
    await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url("/account"),
      format: "json",
      events: ["circuit.opened"],
    });
    assert.equal((await t.ask()).status, 200);
    t.worlds[0].mock.queueFault("status=503", 1);
    const fellBack = await t.ask();
    assert.equal(fellBack.status, 200);
    assert.notEqual(fellBack.headers.get("x-llm-model"), "gpt-4o-mini");
    // More traffic while it is open: routing skips it; nothing new to tell.
    await t.ask();
    await t.ask();
    await t.sweep();
    const opened = t.receiver.received.filter((r) =>
      r.headers.get("x-llm-event") === "circuit.opened"
    );
    assert.deepEqual(opened.map((r) => r.path).sort(), ["/account", "/deployment"]);
    const slack = opened.find((r) => r.path === "/deployment")!;
    assert.match(
      String(slack.json.text),
      /^Circuit opened: openai gpt-4o-mini \(platform keys\) failed repeatedly/,
    );
    assert.ok(Array.isArray(slack.json.blocks));
    assert.equal(
      slack.headers.get("x-llm-signature"),
      null,
      "a Slack webhook without a secret is unsigned",
    );
    const json = opened.find((r) => r.path === "/account")!;
    assert.equal(json.json.type, "circuit.opened");
    assert.equal(json.headers.get("x-llm-event-id"), slack.headers.get("x-llm-event-id"));
    assert.match(json.headers.get("x-llm-signature")!, /^sha256=/, "generic JSON is always signed");

    const reset = await t.call("POST", "/circuits/reset", SERVICE_KEY, {
      provider: "openai",
      model: "gpt-4o-mini",
    });
    assert.equal(reset.status, 200, reset.text);
    await t.sweep();
    const closed = t.receiver.received.filter((r) =>
      r.headers.get("x-llm-event") === "circuit.closed"
    );
    assert.equal(closed.length, 1);
    assert.equal(closed[0].path, "/deployment");
    assert.match(String(closed[0].json.text), /is back \(reset by an operator\)/);
  } finally {
    await t.close();
  }
});

Deno.test("alerts: a failing receiver is retried with growing backoff until it answers; the request never waits for it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const t = await alertWorld({
    // The first delivery hangs until the request is answered, then fails; the second fails; the third lands.
    answer: async (_received, index) => {
      if (index === 0) await gate;
      return index < 2 ? 503 : 200;
    },
  });
  try {
    await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url(),
      format: "json",
      events: ["budget.threshold"],
    });
    await t.budget({ dailyLimitUsd: 0.01, alertThreshold: 0.001 });
    const answered = await Promise.race([
      t.ask(),
      new Promise<"waited">((resolve) => setTimeout(() => resolve("waited"), 10_000)),
    ]);
    assert.notEqual(answered, "waited", "the request waited for the receiver");
    assert.equal((answered as { status: number }).status, 200);
    await eventually(() => t.receiver.received.length === 1, 10_000);
    release();
    await t.settle();

    const delivery = async () =>
      (await t.call("GET", "/alerts/deliveries", t.admin)).json.deliveries[0];
    const first = await delivery();
    assert.equal(first.status, "pending");
    assert.equal(first.attempts, 1);
    assert.equal(first.errorCode, "WEBHOOK_STATUS");
    assert.equal(first.error, "the receiver answered 503");
    const firstWait = Date.parse(first.nextAttemptAt) - Date.now();
    assert.ok(firstWait > 3_000 && firstWait <= 10_000, `first backoff ${firstWait} ms`);

    // Not due yet: a sweep leaves it alone.
    await t.sweep();
    assert.equal(t.receiver.received.length, 1);
    // Its time comes (as if ~10 s passed): retried, fails again, and waits longer.
    const due = () =>
      t.db.query("update llm_jobs set run_after = now() where kind = 'alert.webhook'");
    await due();
    await t.sweep();
    const second = await delivery();
    assert.equal(second.attempts, 2);
    assert.equal(second.status, "pending");
    const secondWait = Date.parse(second.nextAttemptAt) - Date.now();
    assert.ok(secondWait > 8_000 && secondWait <= 20_000, `second backoff ${secondWait} ms`);

    await due();
    await t.sweep();
    const third = await delivery();
    assert.equal(third.status, "succeeded");
    assert.equal(third.attempts, 3);
    assert.equal(third.result.status, 200);
    // Every attempt was the same delivery of the same event, body and all.
    const received = t.receiver.received;
    assert.equal(received.length, 3);
    assert.deepEqual(received.map((r) => r.headers.get("x-llm-delivery-attempt")), ["1", "2", "3"]);
    assert.equal(new Set(received.map((r) => r.headers.get("x-llm-delivery"))).size, 1);
    assert.equal(new Set(received.map((r) => r.body)).size, 1);
    assert.equal(received[0].headers.get("x-llm-delivery"), third.id);
  } finally {
    release();
    await t.close();
  }
});

Deno.test("alerts: a receiver that refuses (404) is not retried; deleting a webhook fails its waiting deliveries", async () => {
  const t = await alertWorld({ answer: () => 404 });
  try {
    await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url(),
      format: "slack",
      events: ["budget.threshold"],
    });
    await t.budget({ dailyLimitUsd: 0.01, alertThreshold: 0.001 });
    await t.ask();
    await t.sweep();
    const [refused] = (await t.call("GET", "/alerts/deliveries", t.admin)).json.deliveries;
    assert.equal(refused.status, "failed");
    assert.equal(refused.attempts, 1);
    assert.equal(refused.errorCode, "WEBHOOK_STATUS");

    // A second destination, whose delivery waits for a retry when it is deleted.
    await t.db.query("delete from llm_jobs where kind = 'alert.webhook'");
    const other = await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url("/other"),
      format: "json",
      events: ["budget.exhausted"],
    });
    await t.db.query(
      `insert into llm_jobs (account_id, kind, payload, run_after)
       values ($1, 'alert.webhook', $2::text::jsonb, now() + interval '1 hour')`,
      [
        ACCOUNT_A,
        JSON.stringify({
          webhookId: other.json.id,
          event: {
            id: "evt_x",
            type: "budget.exhausted",
            accountId: ACCOUNT_A,
            occurredAt: new Date().toISOString(),
            data: {},
          },
        }),
      ],
    );
    const deleted = await t.call("DELETE", `/alerts/webhooks/${other.json.id}`, t.admin);
    assert.equal(deleted.status, 200, deleted.text);
    const [cancelled] = (await t.call("GET", "/alerts/deliveries", t.admin)).json.deliveries;
    assert.equal(cancelled.status, "failed");
    assert.equal(cancelled.errorCode, "WEBHOOK_DELETED");
  } finally {
    await t.close();
  }
});

Deno.test("alerts API: admins only, URLs checked, scopes kept apart, and no URL path or secret in any answer or log line", async () => {
  const t = await alertWorld();
  try {
    const body = { url: t.receiver.url(), format: "json", events: ["budget.threshold"] };
    const forbidden = await t.call("POST", "/alerts/webhooks", t.member, body);
    assert.equal(forbidden.status, 403);
    assert.equal((await t.call("GET", "/alerts/webhooks", t.member)).status, 403);
    assert.equal((await t.call("GET", "/alerts/deliveries", t.member)).status, 403);

    const refusals: [unknown, string][] = [
      [{ ...body, url: "http://example.com/hook" }, "url"],
      [{ ...body, url: "https://10.0.0.1/hook" }, "url"],
      [{ ...body, url: "not a url" }, "url"],
      [{ ...body, format: "teams" }, "format"],
      [{ ...body, events: [] }, "events"],
      [{ ...body, events: ["budget.spent"] }, "events[0]"],
      [{ ...body, secret: "short" }, "secret"],
      [{ ...body, extra: 1 }, "extra"],
    ];
    for (const [bad, field] of refusals) {
      const refused = await t.call("POST", "/alerts/webhooks", t.admin, bad);
      assert.equal(refused.status, 400, JSON.stringify(bad));
      assert.equal(refused.json.error.code, "VALIDATION_ERROR");
      assert.equal(refused.json.error.field, field);
    }

    const created = await t.call("POST", "/alerts/webhooks", t.admin, body);
    assert.equal(created.status, 201, created.text);
    // Generic JSON without a secret of the caller's: one is made, and shown this once.
    assert.match(created.json.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    const generated: string = created.json.secret;
    assert.equal(created.json.urlHint, `${t.receiver.url("")}/…`);
    const listed = await t.call("GET", "/alerts/webhooks", t.admin);
    assert.deepEqual(
      listed.json.webhooks.map((w: { id: string; signed: boolean }) => [w.id, w.signed]),
      [[created.json.id, true]],
    );
    // Another account sees and deletes none of it; the deployment's list is its own.
    assert.deepEqual((await t.call("GET", "/alerts/webhooks", t.adminB)).json.webhooks, []);
    assert.equal(
      (await t.call("DELETE", `/alerts/webhooks/${created.json.id}`, t.adminB)).status,
      404,
    );
    assert.deepEqual((await t.call("GET", "/alerts/webhooks", SERVICE_KEY)).json.webhooks, []);
    const forA = await t.call("GET", `/alerts/webhooks?accountId=${ACCOUNT_A}`, SERVICE_KEY);
    assert.equal(forA.json.webhooks.length, 1);

    // A delivery, then everything the API answered and the world logged.
    await t.budget({ dailyLimitUsd: 0.01, alertThreshold: 0.001 });
    await t.ask();
    await t.sweep();
    assert.equal(t.receiver.received.length, 1);
    const deliveries = await t.call("GET", "/alerts/deliveries", t.admin);
    assert.equal(deliveries.json.deliveries[0].status, "succeeded");
    assert.deepEqual((await t.call("GET", "/alerts/deliveries", t.adminB)).json.deliveries, []);
    assert.equal(
      (await t.call("GET", "/alerts/deliveries?status=lost", t.admin)).json.error.field,
      "status",
    );
    const answers = [listed.text, forA.text, deliveries.text].join("\n");
    const logs = t.logs();
    for (const text of [answers, logs]) {
      assert.ok(!text.includes("secretPath"), "the URL's path");
      assert.ok(!text.includes(generated), "the signing secret");
    }
    assert.match(logs, /"event":"alert_delivered"/);

    const deleted = await t.call("DELETE", `/alerts/webhooks/${created.json.id}`, t.admin);
    assert.equal(deleted.status, 200);
    assert.deepEqual((await t.call("GET", "/alerts/webhooks", t.admin)).json.webhooks, []);
  } finally {
    await t.close();
  }
});

Deno.test("alerts API: plain http to this machine needs LLM_ALLOW_HTTP_WEBHOOKS=loopback", async () => {
  const t = await alertWorld({}, { LLM_ALLOW_HTTP_WEBHOOKS: "" });
  try {
    const refused = await t.call("POST", "/alerts/webhooks", t.admin, {
      url: t.receiver.url(),
      format: "slack",
      events: ["circuit.opened"],
    });
    assert.equal(refused.status, 400);
    assert.match(refused.json.error.message, /LLM_ALLOW_HTTP_WEBHOOKS=loopback/);
    assert.ok(!refused.text.includes("secretPath"));
  } finally {
    await t.close();
  }
});

Deno.test("alert webhooks in the database: admins read their account's hints; nobody signed in reads a URL or a secret", async () => {
  const database = await freshDb();
  const { db } = database;
  try {
    await db.query(
      `insert into llm_alert_webhooks (account_id, url, url_hint, format, events, secret)
       values ($1, 'https://hooks.example.com/a-secret-path', 'https://hooks.example.com/…', 'json',
               array['budget.threshold'], 'whsec_0123456789abcdef'),
              ($2, 'https://hooks.example.com/b-secret-path', 'https://hooks.example.com/…', 'slack',
               array['circuit.opened'], null),
              (null, 'https://hooks.example.com/ops-path', 'https://hooks.example.com/…', 'slack',
               array['circuit.opened'], null)`,
      [ACCOUNT_A, ACCOUNT_B],
    );
    const asUser = (
      role: string,
      work: (query: (sql: string) => Promise<unknown[]>) => Promise<void>,
    ) =>
      db.transaction(async (tx) => {
        await tx.query("select set_config('request.jwt.claims', $1, true)", [
          JSON.stringify({
            role: "authenticated",
            sub: crypto.randomUUID(),
            app_metadata: { account_id: ACCOUNT_A, role },
          }),
        ]);
        await tx.query("set local role authenticated");
        await work((sql) => tx.query(sql));
      });
    await asUser("admin", async (query) => {
      assert.deepEqual(await query("select account_id, format, url_hint from llm_alert_webhooks"), [
        { account_id: ACCOUNT_A, format: "json", url_hint: "https://hooks.example.com/…" },
      ]);
    });
    await asUser("member", async (query) => {
      assert.deepEqual(await query("select id from llm_alert_webhooks"), []);
    });
    for (const column of ["url", "secret", "*"]) {
      await assert.rejects(
        asUser(
          "admin",
          (query) => query(`select ${column} from llm_alert_webhooks`).then(() => {}),
        ),
        /permission denied/,
        column,
      );
    }
  } finally {
    await database.close();
  }
});
