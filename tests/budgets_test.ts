/**
 * Budgets: calendar windows in a time zone (injected clock across midnight,
 * month end and DST), holds and settlement, the 402 message, alerts once per
 * window, seeding from recorded spend, and overshoot under concurrency.
 */
import assert from "node:assert/strict";
import { budgetWindow, isTimeZone } from "../supabase/functions/_shared/guards/budget-windows.ts";
import {
  type BudgetAlert,
  BudgetGuard,
  type BudgetRule,
} from "../supabase/functions/_shared/guards/budgets.ts";
import { toNano } from "../supabase/functions/_shared/guards/budget-ledger.ts";
import { MemoryStateStore } from "../supabase/functions/_shared/store/state-store.ts";
import { LLMError } from "../supabase/functions/_shared/llm/errors.ts";
import { maxCostOf, ModelCatalog } from "../supabase/functions/_shared/llm/catalog.ts";

const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("budget windows: a UTC day ends at midnight, the next instant is the next window", () => {
  const before = budgetWindow("daily", "UTC", Date.parse("2026-11-21T23:59:59.999Z"));
  const after = budgetWindow("daily", "UTC", Date.parse("2026-11-22T00:00:00.000Z"));
  assert.equal(before.id, "2026-11-21");
  assert.equal(iso(before.start), "2026-11-21T00:00:00.000Z");
  assert.equal(before.end, after.start);
  assert.equal(after.id, "2026-11-22");
});

Deno.test("budget windows: days follow the zone's midnight, half-hour offsets included", () => {
  // 18:29:59Z is 23:59:59 in Kolkata (UTC+5:30); 18:30Z is the next day there.
  const late = budgetWindow("daily", "Asia/Kolkata", Date.parse("2026-11-21T18:29:59Z"));
  const next = budgetWindow("daily", "Asia/Kolkata", Date.parse("2026-11-21T18:30:00Z"));
  assert.equal(late.id, "2026-11-21");
  assert.equal(next.id, "2026-11-22");
  assert.equal(iso(next.start), "2026-11-21T18:30:00.000Z");
});

Deno.test("budget windows: daylight-saving days are 23 and 25 hours long", () => {
  const spring = budgetWindow("daily", "America/New_York", Date.parse("2026-03-08T12:00:00Z"));
  const autumn = budgetWindow("daily", "America/New_York", Date.parse("2026-11-01T12:00:00Z"));
  assert.equal((spring.end - spring.start) / 3_600_000, 23);
  assert.equal((autumn.end - autumn.start) / 3_600_000, 25);
  assert.equal(iso(spring.start), "2026-03-08T05:00:00.000Z");
  // Where the switch skips midnight itself (Santiago), the day starts at 01:00.
  const skipped = budgetWindow("daily", "America/Santiago", Date.parse("2026-09-06T12:00:00Z"));
  assert.equal(iso(skipped.start), "2026-09-06T04:00:00.000Z");
  assert.equal(skipped.id, "2026-09-06");
});

Deno.test("budget windows: months end on their last day, leap years and year ends included", () => {
  const feb = budgetWindow("monthly", "UTC", Date.parse("2028-02-29T23:59:59Z"));
  assert.equal(feb.id, "2028-02");
  assert.equal(iso(feb.end), "2028-03-01T00:00:00.000Z");
  const berlin = budgetWindow("monthly", "Europe/Berlin", Date.parse("2026-02-28T23:30:00Z"));
  assert.equal(berlin.id, "2026-03", "00:30 on March 1st in Berlin");
  assert.equal(iso(berlin.start), "2026-02-28T23:00:00.000Z");
  const year = budgetWindow("monthly", "Pacific/Chatham", Date.parse("2026-12-31T12:00:00Z"));
  assert.equal(year.id, "2027-01");
  assert.equal(iso(year.start), "2026-12-31T10:15:00.000Z");
});

Deno.test("budget windows: instants inside a window share it; an earlier or later one gets its own", () => {
  const at = (text: string) => Date.parse(text);
  // Paris is UTC+2 in May: its 10th runs from 22:00Z on the 9th to 22:00Z on the 10th.
  const noon = budgetWindow("daily", "Europe/Paris", at("2026-05-10T10:00:00Z"));
  const evening = budgetWindow("daily", "Europe/Paris", at("2026-05-10T21:59:59.999Z"));
  assert.equal(evening, noon, "the same window, not worked out again");
  assert.ok(Object.isFrozen(noon), "shared, so nobody may change it");
  const before = budgetWindow("daily", "Europe/Paris", at("2026-05-09T21:59:59.999Z"));
  assert.equal(before.id, "2026-05-09");
  assert.equal(before.end, noon.start);
  const after = budgetWindow("daily", "Europe/Paris", noon.end);
  assert.equal(after.id, "2026-05-11");
  // Another period in the same zone is another window.
  const month = budgetWindow("monthly", "Europe/Paris", at("2026-05-10T10:00:00Z"));
  assert.equal(month.id, "2026-05");
  assert.equal(iso(month.start), "2026-04-30T22:00:00.000Z");
  assert.equal(budgetWindow("daily", "Europe/Paris", at("2026-05-10T10:00:00Z")).id, "2026-05-10");
});

Deno.test("budget windows: unknown zones are refused", () => {
  assert.equal(isTimeZone("Europe/Berlin"), true);
  assert.equal(isTimeZone("Mars/Olympus"), false);
  assert.throws(() => budgetWindow("daily", "Mars/Olympus", 0), RangeError);
});

interface Harness {
  guard: BudgetGuard;
  alerts: BudgetAlert[];
  seeds: string[];
  clock: { now: number };
}

function harness(recorded: (rule: BudgetRule, windowId: string) => number = () => 0): Harness {
  const clock = { now: Date.parse("2026-11-21T12:00:00Z") };
  const alerts: BudgetAlert[] = [];
  const seeds: string[] = [];
  const store = new MemoryStateStore(() => clock.now);
  const guard = new BudgetGuard({
    store,
    recordedSpend: (rule, window) => {
      seeds.push(`${rule.period}:${window.id}`);
      return Promise.resolve(recorded(rule, window.id));
    },
    onAlert: (alert) => alerts.push(alert),
    now: () => clock.now,
  });
  return { guard, alerts, seeds, clock };
}

const DAILY: BudgetRule = {
  accountId: "7d3c1f0e-2a4b-4c5d-8e9f-0a1b2c3d4e5f",
  period: "daily",
  limitUsd: 1,
  alertThreshold: 0.8,
  timeZone: "UTC",
};

async function spend(guard: BudgetGuard, rules: BudgetRule[], estimate: number, actual: number) {
  const hold = await guard.reserve(rules, estimate);
  await hold.settle(actual);
}

Deno.test("budgets: a hold is swapped for the actual cost; a release gives it back", async () => {
  const { guard } = harness();
  const hold = await guard.reserve([DAILY], 0.5);
  assert.deepEqual(
    (({ spentUsd, reservedUsd }) => ({ spentUsd, reservedUsd }))(await guard.totals(DAILY)),
    { spentUsd: 0, reservedUsd: 0.5 },
  );
  await hold.settle(0.125);
  await hold.settle(99); // settling twice changes nothing
  let totals = await guard.totals(DAILY);
  assert.equal(totals.spentUsd, 0.125);
  assert.equal(totals.reservedUsd, 0);
  const released = await guard.reserve([DAILY], 0.3);
  await released.release();
  totals = await guard.totals(DAILY);
  assert.equal(totals.spentUsd, 0.125);
  assert.equal(totals.reservedUsd, 0);
});

Deno.test("budgets: over the limit is 402 PAYMENT_REQUIRED with spend, estimate and limit", async () => {
  const { guard } = harness();
  await spend(guard, [DAILY], 0.5, 1.02);
  await assert.rejects(guard.reserve([DAILY], 0.04), (error: unknown) => {
    assert.ok(error instanceof LLMError);
    assert.equal(error.code, "PAYMENT_REQUIRED");
    assert.equal(error.status, 402);
    assert.match(error.message, /\$1\.02 spent/);
    assert.match(error.message, /\$1\.00 limit/);
    assert.match(error.message, /up to \$0\.04/);
    assert.equal(error.details.limitUsd, 1);
    assert.equal(error.details.spentUsd, 1.02);
    assert.equal(error.details.estimateUsd, 0.04);
    assert.equal(error.details.resetsAt, "2026-11-22T00:00:00.000Z");
    return true;
  });
});

Deno.test("budgets: the window resets at the zone's midnight, with no reset job", async () => {
  const { guard, clock, seeds } = harness();
  const berlin: BudgetRule = { ...DAILY, timeZone: "Europe/Berlin" };
  clock.now = Date.parse("2026-11-21T22:59:00Z"); // 23:59 in Berlin
  await spend(guard, [berlin], 0.1, 1);
  await assert.rejects(guard.reserve([berlin], 0.1), /spent/);
  clock.now = Date.parse("2026-11-21T23:00:00Z"); // 00:00 on the 22nd in Berlin
  const hold = await guard.reserve([berlin], 0.1);
  await hold.release();
  assert.deepEqual(seeds, ["daily:2026-11-21", "daily:2026-11-22"]);
});

Deno.test("budgets: a month's budget carries across days and resets on the 1st", async () => {
  const { guard, clock } = harness();
  const monthly: BudgetRule = { ...DAILY, period: "monthly", limitUsd: 2 };
  clock.now = Date.parse("2026-01-30T10:00:00Z");
  await spend(guard, [monthly], 1, 1.5);
  clock.now = Date.parse("2026-01-31T23:59:59Z");
  await spend(guard, [monthly], 1, 0.6);
  await assert.rejects(guard.reserve([monthly], 0.01), /monthly budget/);
  clock.now = Date.parse("2026-02-01T00:00:00Z");
  assert.equal((await guard.totals(monthly)).spentUsd, 0);
});

Deno.test("budgets: a new ledger starts from the spend llm_usage recorded in its window", async () => {
  const { guard } = harness(() => 0.99);
  await assert.doesNotReject(async () => await spend(guard, [DAILY], 0.005, 0.02));
  await assert.rejects(guard.reserve([DAILY], 0.001), /PAYMENT_REQUIRED|spent/);
});

Deno.test("budgets: the alert fires once per window when spend crosses the threshold", async () => {
  const { guard, alerts, clock } = harness();
  await spend(guard, [DAILY], 0.5, 0.5);
  assert.equal(alerts.length, 0);
  await spend(guard, [DAILY], 0.5, 0.31);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0].window.id, "2026-11-21");
  assert.ok(Math.abs(alerts[0].spentUsd - 0.81) < 1e-9);
  await spend(guard, [DAILY], 0.1, 0.1);
  assert.equal(alerts.length, 1, "not again in the same window");
  clock.now += 86_400_000;
  await spend(guard, [DAILY], 0.9, 0.9);
  assert.equal(alerts.length, 2, "a new window alerts again");
});

Deno.test("budgets: an agent's budget and the account's both apply; a refusal releases the other hold", async () => {
  const { guard } = harness();
  const agent: BudgetRule = { ...DAILY, agentId: "support-bot", limitUsd: 0.1 };
  await spend(guard, [DAILY, agent], 0.05, 0.1);
  await assert.rejects(guard.reserve([DAILY, agent], 0.05), /agent support-bot/);
  const account = await guard.totals(DAILY);
  assert.equal(account.reservedUsd, 0, "the account-wide hold was given back");
  assert.equal(account.spentUsd, 0.1);
});

Deno.test("budgets: 100 concurrent requests on a nearly spent budget overshoot by at most one estimate", async () => {
  const { guard } = harness(() => 0.97);
  const estimate = 0.02;
  const outcomes = await Promise.allSettled(
    Array.from({ length: 100 }, async () => {
      const hold = await guard.reserve([DAILY], estimate);
      // Each admitted request turns out to cost its full estimate.
      await hold.settle(estimate);
    }),
  );
  const admitted = outcomes.filter((o) => o.status === "fulfilled").length;
  assert.equal(admitted, 2, "0.97 → 0.99 → 1.01, then refused");
  const { spentUsd } = await guard.totals(DAILY);
  assert.ok(spentUsd - DAILY.limitUsd <= estimate + 1e-9, `overshoot ${spentUsd - 1}`);
});

Deno.test("cost estimate: every input token at the dearer of its plain and cache-write price", () => {
  const catalog = new ModelCatalog();
  const sonnet = catalog.get("claude-sonnet-4-6") ??
    catalog.all().find((m) => m.provider === "anthropic")!;
  const estimate = maxCostOf(sonnet, 1_000_000, 1_000_000);
  assert.equal(
    estimate,
    Math.max(sonnet.prices.input, sonnet.prices.cacheWrite) + sonnet.prices.output,
  );
  assert.equal(toNano(0.0000015), 1_500);
});
