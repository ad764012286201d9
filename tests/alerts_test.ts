/**
 * The pieces of spend and health alerts: which webhook URLs are accepted
 * (and how one is shown), the HMAC signature a receiver verifies, the Slack
 * and JSON bodies, which circuit transitions become events and that only
 * the step that made a transition reports it (memory and Redis), and the
 * budget ledger's threshold and exhaustion reports, once per window each.
 */
import assert from "node:assert/strict";
import {
  checkWebhookUrl,
  httpWebhooksSetting,
  webhookUrlHint,
} from "../supabase/functions/_shared/alerts/webhook-url.ts";
import {
  signWebhook,
  verifyWebhookSignature,
} from "../supabase/functions/_shared/alerts/signature.ts";
import { renderAlert } from "../supabase/functions/_shared/alerts/render.ts";
import {
  type AlertEvent,
  budgetAlertEvent,
  circuitAlertEvent,
} from "../supabase/functions/_shared/alerts/events.ts";
import {
  type CircuitTransition,
  StoreCircuitBreakers,
} from "../supabase/functions/_shared/guards/store-breakers.ts";
import {
  type BudgetAlert,
  BudgetHolds,
  type BudgetRule,
} from "../supabase/functions/_shared/guards/budget-holds.ts";
import {
  MemoryStateStore,
  type StateStore,
} from "../supabase/functions/_shared/store/state-store.ts";
import { UpstashStateStore } from "../supabase/functions/_shared/store/upstash-store.ts";
import { mapEnv } from "../supabase/functions/_shared/runtime/env.ts";
import { toHex } from "../supabase/functions/_shared/security/hex.ts";
import { redactSecrets } from "../supabase/functions/_shared/runtime/redact.ts";
import { testUpstash, uniquePrefix } from "./helpers/test-upstash.ts";

const problemOf = (url: string, http: "never" | "loopback" = "never") => {
  const checked = checkWebhookUrl(url, http);
  return "problem" in checked ? checked.problem : undefined;
};

Deno.test("webhook URLs: https to a public host passes; its path is never part of the hint", () => {
  const checked = checkWebhookUrl(
    "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX",
    "never",
  );
  assert.ok(!("problem" in checked));
  assert.equal(checked.url, "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX");
  assert.equal(checked.hint, "https://hooks.slack.com/…");
  assert.equal(webhookUrlHint("https://example.com:8443"), "https://example.com:8443");
  assert.equal(webhookUrlHint("https://example.com/?token=abc"), "https://example.com/…");
});

Deno.test("webhook URLs: http only to this machine and only with LLM_ALLOW_HTTP_WEBHOOKS=loopback", () => {
  assert.match(problemOf("http://example.com/hook")!, /must be https/);
  assert.match(problemOf("http://127.0.0.1:9000/hook")!, /LLM_ALLOW_HTTP_WEBHOOKS=loopback/);
  assert.equal(problemOf("http://127.0.0.1:9000/hook", "loopback"), undefined);
  assert.equal(problemOf("http://localhost:9000/hook", "loopback"), undefined);
  assert.equal(problemOf("http://[::1]:9000/hook", "loopback"), undefined);
  assert.match(problemOf("http://example.com/hook", "loopback")!, /this machine only/);
  assert.match(problemOf("https://127.0.0.1/hook")!, /this machine/);
  assert.equal(problemOf("https://127.0.0.1/hook", "loopback"), undefined);
});

Deno.test("webhook URLs: other schemes, credentials, private addresses and junk are refused without quoting the URL", () => {
  const cases = [
    "ftp://example.com/hook",
    "https://user:pass@example.com/hook",
    "https://10.1.2.3/secret-path",
    "https://192.168.0.10/secret-path",
    "https://172.20.0.1/secret-path",
    "https://169.254.169.254/latest/meta-data",
    "https://[fd00::1]/secret-path",
    "https://[::ffff:10.0.0.1]/secret-path",
    "not a url secret-path",
    `https://example.com/${"a".repeat(2100)}`,
  ];
  for (const url of cases) {
    const problem = problemOf(url, "loopback");
    assert.ok(problem, url);
    assert.ok(!problem.includes("secret-path") && !problem.includes("meta-data"), problem);
  }
  assert.equal(problemOf("https://172.32.0.1/hook"), undefined, "outside 172.16/12");
});

Deno.test("webhook URLs: LLM_ALLOW_HTTP_WEBHOOKS accepts loopback; anything else is a warning and https only", () => {
  const warnings: string[] = [];
  assert.equal(httpWebhooksSetting(mapEnv({}), warnings), "never");
  assert.equal(
    httpWebhooksSetting(mapEnv({ LLM_ALLOW_HTTP_WEBHOOKS: "loopback" }), warnings),
    "loopback",
  );
  assert.deepEqual(warnings, []);
  assert.equal(httpWebhooksSetting(mapEnv({ LLM_ALLOW_HTTP_WEBHOOKS: "yes" }), warnings), "never");
  assert.equal(warnings.length, 1);
});

Deno.test("redaction: a signing secret and a Slack webhook's path never survive into a log line", () => {
  const line = JSON.stringify({
    detail: "posting to https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX with " +
      "whsec_abcdefghijklmnopqrstuvwxyz012345",
  });
  const redacted = redactSecrets(line);
  assert.ok(!redacted.includes("XXXXsecretXXXX"), redacted);
  assert.ok(!redacted.includes("abcdefghijklmnop"), redacted);
  assert.match(redacted, /hooks\.slack\.com\/services\/\[redacted\]/);
  assert.match(redacted, /whsec_\[redacted\]/);
});

Deno.test("signature: sha256=<hex HMAC-SHA256 of '<timestamp>.<body>'> verifies; a changed body, timestamp or secret does not", async () => {
  const secret = "whsec_test-signing-secret-0123456789";
  const body = '{"type":"budget.threshold","data":{"spentUsd":0.81}}';
  const timestamp = 1_790_000_000;
  const signature = await signWebhook(secret, timestamp, body);
  // The documented construction, computed independently.
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const expected = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${timestamp}.${body}`),
  );
  assert.equal(signature, `sha256=${toHex(expected)}`);

  const now = timestamp * 1000 + 30_000;
  const delivery = { body, signature, timestamp: String(timestamp) };
  assert.equal(await verifyWebhookSignature(secret, delivery, now), true);
  assert.equal(
    await verifyWebhookSignature(secret, { ...delivery, body: body.replace("0.81", "0.01") }, now),
    false,
  );
  assert.equal(
    await verifyWebhookSignature(secret, { ...delivery, timestamp: String(timestamp + 1) }, now),
    false,
    "a replay with a fresh timestamp does not verify",
  );
  assert.equal(await verifyWebhookSignature(`${secret}x`, delivery, now), false);
  assert.equal(
    await verifyWebhookSignature(secret, delivery, now + 600_000),
    false,
    "too old: refused even though the signature is right",
  );
  assert.equal(await verifyWebhookSignature(secret, { ...delivery, signature: null }, now), false);
});

const THRESHOLD_EVENT: AlertEvent = {
  id: "evt_0123",
  type: "budget.threshold",
  accountId: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
  occurredAt: "2026-11-21T12:00:00.000Z",
  data: {
    accountId: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
    agentId: "<!channel> bot",
    period: "daily",
    window: "2026-11-21",
    timeZone: "UTC",
    limitUsd: 5,
    spentUsd: 4.05,
    threshold: 0.8,
    resetsAt: "2026-11-22T00:00:00.000Z",
  },
};

Deno.test("render: Slack gets {text, blocks} with mrkdwn escaped (an agent id cannot ping the channel)", () => {
  const body = JSON.parse(renderAlert(THRESHOLD_EVENT, "slack", "job-1"));
  assert.deepEqual(Object.keys(body), ["text", "blocks"]);
  assert.match(body.text, /^Budget alert: account aaaaaaaa-.* \(agent &lt;!channel&gt; bot\)/);
  assert.match(body.text, /\$4\.05 of its \$5\.00 daily budget \(81%\)/);
  assert.ok(!JSON.stringify(body).includes("<!channel>"));
  assert.equal(body.blocks[0].type, "section");
  assert.match(
    body.blocks[1].elements[0].text,
    /budget\.threshold · 2026-11-21T12:00:00\.000Z · evt_0123/,
  );
});

Deno.test("render: JSON carries the event, its delivery id and the same sentence", () => {
  const body = JSON.parse(renderAlert(THRESHOLD_EVENT, "json", "job-1"));
  assert.equal(body.id, "evt_0123");
  assert.equal(body.type, "budget.threshold");
  assert.equal(body.deliveryId, "job-1");
  assert.deepEqual(body.data, THRESHOLD_EVENT.data);
  assert.match(body.text, /agent <!channel> bot/, "JSON is not Slack: nothing to escape");
});

const transition = (over: Partial<CircuitTransition>): CircuitTransition => ({
  key: "platform:openai:gpt-4o-mini",
  from: "CLOSED",
  to: "OPEN",
  at: Date.parse("2026-11-21T12:00:00Z"),
  reset: false,
  ...over,
});

Deno.test("circuit events: opened when closed→open, closed when it closes again; a failed probe is the same outage", () => {
  const opened = circuitAlertEvent(transition({}), 60_000)!;
  assert.equal(opened.type, "circuit.opened");
  assert.equal(opened.accountId, null);
  assert.deepEqual(
    { ...opened.data },
    {
      circuit: "platform:openai:gpt-4o-mini",
      scope: "platform",
      accountId: null,
      provider: "openai",
      model: "gpt-4o-mini",
      deployment: null,
      probeAfterMs: 60_000,
    },
  );
  assert.equal(circuitAlertEvent(transition({ from: "HALF_OPEN", to: "OPEN" }), 60_000), undefined);
  assert.equal(circuitAlertEvent(transition({ from: "OPEN", to: "HALF_OPEN" }), 60_000), undefined);
  const recovered = circuitAlertEvent(transition({ from: "HALF_OPEN", to: "CLOSED" }), 60_000)!;
  assert.equal(recovered.type, "circuit.closed");
  assert.equal(recovered.data.reason, "recovered");
  const reset = circuitAlertEvent(transition({ from: "OPEN", to: "CLOSED", reset: true }), 1)!;
  assert.equal(reset.data.reason, "reset");
  assert.notEqual(opened.id, recovered.id);
});

Deno.test("circuit events: an account's own keys' circuit is that account's; model ids with colons and deployments parse", () => {
  const event = circuitAlertEvent(
    transition({
      key: "account:aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa:openrouter:qwen/qwen3-coder:free@mirror",
    }),
    60_000,
  )!;
  assert.equal(event.accountId, "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
  assert.equal(event.data.scope, "account");
  assert.equal(event.data.provider, "openrouter");
  assert.equal(event.data.model, "qwen/qwen3-coder:free");
  assert.equal(event.data.deployment, "mirror");
});

const STORES: { name: string; open(): Promise<{ store: StateStore; close(): Promise<void> }> }[] = [
  {
    name: "memory",
    open: () => Promise.resolve({ store: new MemoryStateStore(), close: () => Promise.resolve() }),
  },
  {
    name: "upstash",
    open: async () => {
      const endpoint = await testUpstash();
      const store = new UpstashStateStore({ ...endpoint, prefix: uniquePrefix() });
      return { store, close: () => endpoint.close() };
    },
  },
];

for (const backend of STORES) {
  Deno.test(`circuit transitions (${backend.name}): only the step that made a change reports it, across breakers sharing the store`, async () => {
    const { store, close } = await backend.open();
    try {
      const heard: string[] = [];
      const policy = { failureThreshold: 2, openMs: 1_000, halfOpenSuccesses: 1 };
      const listen = (name: string) => (t: CircuitTransition) =>
        heard.push(`${name}:${t.from}>${t.to}${t.reset ? ":reset" : ""}`);
      const isolateA = new StoreCircuitBreakers(store, policy, () => {}, listen("A"));
      const isolateB = new StoreCircuitBreakers(store, policy, () => {}, listen("B"));
      const key = "platform:openai:gpt-4o-mini";

      await isolateA.recordFailure(key, 10);
      assert.deepEqual(heard, [], "one failure of two: still closed");
      await isolateB.recordFailure(key, 20);
      assert.deepEqual(heard, ["B:CLOSED>OPEN"]);
      // Both see it open; failures while open change nothing, so nobody reports again.
      assert.equal(await isolateA.state(key, 30), "OPEN");
      await isolateA.recordFailure(key, 40);
      await isolateB.recordFailure(key, 50);
      assert.deepEqual(heard, ["B:CLOSED>OPEN"]);
      // Past the open time a failed probe re-opens it, then a good one closes it.
      await isolateA.recordFailure(key, 1_100);
      await isolateB.recordSuccess(key, 2_200);
      assert.deepEqual(heard, ["B:CLOSED>OPEN", "A:HALF_OPEN>OPEN", "B:HALF_OPEN>CLOSED"]);
      // An operator's reset of an open circuit is a transition too; of a closed one, none.
      await isolateA.recordFailure(key, 2_300);
      await isolateA.recordFailure(key, 2_310);
      await isolateB.reset(key, 2_320);
      await isolateB.reset(key, 2_330);
      assert.deepEqual(heard.slice(3), ["A:CLOSED>OPEN", "B:OPEN>CLOSED:reset"]);
    } finally {
      await close();
    }
  });
}

const RULE: BudgetRule = {
  accountId: "7d3c1f0e-2a4b-4c5d-8e9f-0a1b2c3d4e5f",
  period: "daily",
  limitUsd: 1,
  alertThreshold: 0.5,
  timeZone: "UTC",
};

Deno.test("budget alerts: the threshold, then the limit, each once per window, and again in the next window", async () => {
  const clock = { now: Date.parse("2026-11-21T12:00:00Z") };
  const alerts: BudgetAlert[] = [];
  const store = new MemoryStateStore(() => clock.now);
  const holds = (onAlert: (alert: BudgetAlert) => void) =>
    new BudgetHolds({
      store,
      recordedSpend: () => Promise.resolve(0),
      onAlert,
      now: () => clock.now,
    });
  // Two isolates on one store: between them, each event is reported once.
  const isolates = [holds((a) => alerts.push(a)), holds((a) => alerts.push(a))];
  const spend = async (index: number, usd: number) =>
    await (await isolates[index].reserve([RULE], 0.01)).settle(usd);

  await spend(0, 0.4);
  assert.deepEqual(alerts.map((a) => a.kind), []);
  await spend(1, 0.2);
  await spend(0, 0.1);
  assert.deepEqual(alerts.map((a) => a.kind), ["threshold"]);
  await spend(1, 0.3);
  assert.deepEqual(alerts.map((a) => a.kind), ["threshold", "exhausted"]);
  assert.ok(Math.abs(alerts[1].spentUsd - 1) < 1e-9);
  // Spent: every request is refused from now on, and nothing is reported again.
  await assert.rejects(isolates[0].reserve([RULE], 0.01), /spent/);
  assert.equal(alerts.length, 2);

  // One settle crossing both in a new window reports both, threshold first.
  clock.now = Date.parse("2026-11-22T00:00:00Z");
  await spend(1, 2);
  assert.deepEqual(alerts.map((a) => `${a.kind}:${a.window.id}`).slice(2), [
    "threshold:2026-11-22",
    "exhausted:2026-11-22",
  ]);
});

Deno.test("budget events: the id is fixed by the rule and window, so reports of one happening are one event", async () => {
  const window = {
    period: "daily" as const,
    timeZone: "UTC",
    id: "2026-11-21",
    start: Date.parse("2026-11-21T00:00:00Z"),
    end: Date.parse("2026-11-22T00:00:00Z"),
  };
  const alert: BudgetAlert = { kind: "threshold", rule: RULE, window, spentUsd: 0.6 };
  const first = await budgetAlertEvent(alert, window.start + 1);
  const again = await budgetAlertEvent({ ...alert, spentUsd: 0.7 }, window.start + 2);
  assert.equal(first.id, again.id);
  assert.match(first.id, /^evt_[0-9a-f]{32}$/);
  assert.equal(first.type, "budget.threshold");
  assert.equal(first.data.resetsAt, "2026-11-22T00:00:00.000Z");
  const exhausted = await budgetAlertEvent({ ...alert, kind: "exhausted" }, window.start);
  assert.equal(exhausted.type, "budget.exhausted");
  assert.notEqual(exhausted.id, first.id);
  const nextDay = await budgetAlertEvent({ ...alert, window: { ...window, id: "2026-11-22" } }, 0);
  assert.notEqual(nextDay.id, first.id);
  // A gateway key's own budget in the same window is another happening.
  const keyRule = { ...RULE, keyId: "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b" };
  const ofKey = await budgetAlertEvent({ ...alert, rule: keyRule }, window.start);
  assert.notEqual(ofKey.id, first.id);
  assert.equal(ofKey.data.keyId, keyRule.keyId);
  assert.match(renderAlert(ofKey, "slack", "d"), /\(gateway key 0b0b0b0b-/);
});
