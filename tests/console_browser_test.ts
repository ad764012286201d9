/// <reference lib="dom" />
/**
 * The console end to end, as a person uses it: `deno task dev`'s page in
 * headless Debian Chromium (playwright-core). The admin signs in with one
 * click, watches an answer stream in over several paints and sees who served
 * it and what it cost, gives an agent a model and sees the next answer served
 * by it, and finds the health and metrics panels filled. A member at 375 px
 * sees a page that fits and is told the admin panels are for admins; an
 * operator's service key brings the reset buttons. Any console error fails.
 * Screenshots are saved to a temp dir (printed) as the test's artifacts.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { startDevProcess } from "./helpers/process.ts";
import { launchBrowser } from "./helpers/browser.ts";

/** Mock models that stream slowly (the mock reads faults from the model name). */
const SLOW_OPENAI = "gpt-4o-mini::chunk-delay=60";
const SLOW_ANTHROPIC = "claude-haiku-4-5::chunk-delay=60";
/** Slow enough (about 5 s) that Stop always lands mid-stream. */
const SLOWER_OPENAI = "gpt-4o-mini::chunk-delay=250";

const slowModel = (id: string, provider: string) => ({
  id,
  provider,
  contextWindow: 128_000,
  maxOutputTokens: 8_192,
  prices: { input: 1, output: 5, cachedInput: 0.1, cacheWrite: 1.25 },
  capabilities: { chat: true, tools: true, vision: false, json: true, embeddings: false },
  tokenizer: "approx",
});

const DEV_ENV = {
  LLM_MODELS: JSON.stringify([
    slowModel(SLOW_OPENAI, "openai"),
    slowModel(SLOW_ANTHROPIC, "anthropic"),
    slowModel(SLOWER_OPENAI, "openai"),
  ]),
};

/**
 * The browser's own log line for an error status, which Chromium reports as a
 * console error: allowed only where the test provokes that status on purpose.
 */
const failedFetch = (status: number) =>
  new RegExp(`Failed to load resource: the server responded with a status of ${status}\\b`);

async function eventually(check: () => Promise<boolean>, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Sends `text` in the chat panel and waits for its answer to end, recording
 * the answer's length at every animation frame while it streams. Returns the
 * answer's item and the distinct partial lengths painted.
 */
async function chat(page: Page, text: string): Promise<{ answer: Locator; paints: number[] }> {
  const chatPanel = page.locator("#chat");
  const answers = chatPanel.locator(".turn.assistant");
  const before = await answers.count();
  await page.evaluate(() => {
    const w = window as unknown as { paints: number[]; recording: boolean };
    w.paints = [];
    w.recording = true;
    const frame = () => {
      const all = document.querySelectorAll<HTMLElement>("#chat .answer-text");
      const last = all[all.length - 1];
      if (last?.dataset.streaming === "true") w.paints.push(last.textContent?.length ?? 0);
      if (w.recording) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  await chatPanel.getByRole("textbox", { name: "Message", exact: true }).fill(text);
  await chatPanel.getByRole("button", { name: "Send" }).click();
  const answer = answers.nth(before);
  await answer.locator("[data-stat=served-by]").waitFor({ timeout: 20_000 });
  const paints = await page.evaluate(() => {
    const w = window as unknown as { paints: number[]; recording: boolean };
    w.recording = false;
    return [...new Set(w.paints.filter((n) => n > 0))];
  });
  return { answer, paints };
}

const stat = (answer: Locator, name: string) => answer.locator(`[data-stat=${name}]`).innerText();

Deno.test("console: sign in, stream, pick an agent's model, health and metrics, 375 px, operator resets", async (t) => {
  const dev = await startDevProcess(DEV_ENV);
  const browser = await launchBrowser();
  const artifacts = await Deno.makeTempDir({ prefix: "console-browser-" });
  const { page } = browser;
  /** Runs `action`, excusing the browser's log lines matching `pattern` that it causes. */
  const excusing = async (pattern: RegExp, action: () => Promise<void>) => {
    const before = browser.errors.length;
    try {
      await action();
    } finally {
      const during = browser.errors.splice(before);
      browser.errors.push(...during.filter((line) => !pattern.test(line)));
    }
  };
  try {
    assert.ok(dev.output.includes(`Console: ${dev.url}/`), "dev server prints the console URL");

    await t.step("the local admin signs in with one click", async () => {
      await page.goto(`${dev.url}/`);
      await page.getByRole("button", { name: "Sign in as local admin" }).click();
      await page.getByText("Signed in as admin@local.test").waitFor();
      await page.getByRole("heading", { name: "Chat playground" }).waitFor();
    });

    await t.step("an answer grows over several paints, then shows served-by and cost", async () => {
      const chatPanel = page.locator("#chat");
      await chatPanel.getByLabel("Route by").selectOption("model");
      await chatPanel.getByLabel("Model", { exact: true }).selectOption(SLOW_OPENAI);
      const { answer, paints } = await chat(page, "Tell me something");
      assert.ok(paints.length >= 2, `partial text painted ${paints.length} time(s): ${paints}`);
      const final = (await answer.locator(".answer-text").innerText()).length;
      assert.ok(Math.min(...paints) < final, `first paint ${paints[0]} of ${final} characters`);
      assert.match(
        await answer.locator(".answer-text").innerText(),
        /^Mock reply to: Tell me something/,
      );
      assert.match(await stat(answer, "served-by"), /^openai\/gpt-4o-mini\b/);
      assert.match(await stat(answer, "cost"), /^\$0\.0*[1-9]/);
      assert.match(await stat(answer, "tokens"), /^\d+ in \/ \d+ out$/);
      assert.match(await stat(answer, "first-token"), /\d+ (ms|s)$/);
      assert.equal(await stat(answer, "attempts"), "1");
    });

    await t.step("Stop ends an answer while it streams, and the next one can be sent", async () => {
      const chatPanel = page.locator("#chat");
      await chatPanel.getByLabel("Model", { exact: true }).selectOption(SLOWER_OPENAI);
      await chatPanel.getByRole("textbox", { name: "Message", exact: true }).fill("Stop me");
      await chatPanel.getByRole("button", { name: "Send" }).click();
      const streaming = chatPanel.locator(".answer-text[data-streaming=true]");
      await eventually(
        async () => ((await streaming.textContent()) ?? "").length > 0,
        "the first text",
      );
      await chatPanel.getByRole("button", { name: "Stop" }).click();
      const answer = chatPanel.locator(".turn.assistant").last();
      await answer.getByText("Stopped.").waitFor();
      assert.match(await answer.locator(".answer-text").innerText(), /^Mock/);
      // No finish event came: the stream was cut, not completed.
      assert.equal(await stat(answer, "tokens"), "—");
      assert.equal(await chatPanel.getByRole("button", { name: "Stop" }).isDisabled(), true);
      assert.equal(await chatPanel.getByRole("button", { name: "Send" }).isEnabled(), true);
    });

    await t.step(
      "agent settings: a bad value is shown at its field; the saved model serves the agent",
      async () => {
        const agents = page.locator("#agents");
        const agentChoice = agents.getByLabel("Agent", { exact: true });
        await agentChoice.selectOption({ label: "New agent…" });
        await agents.getByLabel("New agent id").fill("console-agent");
        await agents.getByLabel("Provider").selectOption("openai");
        await agents.getByLabel("Model", { exact: true }).selectOption(SLOW_OPENAI);
        const temperature = agents.getByLabel("Temperature");
        await temperature.fill("5");
        await excusing(failedFetch(400), async () => {
          await agents.getByRole("button", { name: "Save" }).click();
          await agents.locator("[aria-invalid=true]").waitFor();
        });
        // The API's error is next to the field, and the field says so to a screen reader.
        assert.equal(await temperature.getAttribute("aria-invalid"), "true");
        const describedBy = (await temperature.getAttribute("aria-describedby"))!.split(" ");
        const errorId = describedBy.find((id) => id.endsWith("-error"))!;
        assert.match(await page.locator(`[id="${errorId}"]`).innerText(), /params\.temperature/);

        await temperature.fill("0.3");
        await agents.getByRole("button", { name: "Save" }).click();
        await agents.getByText(`Saved: console-agent now uses ${SLOW_OPENAI}.`).waitFor();

        const chatPanel = page.locator("#chat");
        await chatPanel.getByLabel("Route by").selectOption("agent");
        await chatPanel.getByLabel("Agent id").fill("console-agent");
        const first = await chat(page, "Who answers?");
        assert.match(await stat(first.answer, "served-by"), /^openai\/gpt-4o-mini\b/);

        await agentChoice.selectOption("console-agent");
        await agents.getByLabel("Provider").selectOption("anthropic");
        await agents.getByLabel("Model", { exact: true }).selectOption(SLOW_ANTHROPIC);
        await agents.getByRole("button", { name: "Save" }).click();
        await agents.getByText(`Saved: console-agent now uses ${SLOW_ANTHROPIC}.`).waitFor();
        const second = await chat(page, "And now?");
        assert.match(await stat(second.answer, "served-by"), /^anthropic\/claude-haiku-4-5\b/);
      },
    );

    await t.step("a direct function streams too, and says which model served it", async () => {
      await page.locator("#chat").getByLabel("Function").selectOption("ai-chat-direct");
      const { answer } = await chat(page, "Directly");
      assert.match(await answer.locator(".answer-text").innerText(), /^Mock reply to: Directly/);
      assert.match(await stat(answer, "served-by"), /^openai\/gpt-4o-mini\b/);
    });

    await t.step("the health and metrics panels are filled", async () => {
      const health = page.locator("#health");
      await health.locator("[data-provider=openai]").waitFor();
      assert.match(await health.locator("[data-provider=openai]").innerText(), /^up\b/);
      assert.match(await health.locator(".summary").innerText(), /providers healthy/);

      const metrics = page.locator("#metrics");
      // Counters reach the store within a second of each request (the recorder's flush).
      await eventually(async () => {
        await metrics.getByRole("button", { name: "Refresh metrics" }).click();
        const text = await metrics.innerText();
        return text.includes("anthropic") && text.includes("openai");
      }, "both providers in the metrics panel");
      assert.equal(await metrics.locator("svg.chart").count(), 2);
      assert.match(await metrics.locator(".summary").innerText(), /^\d+ requests/);

      const shot = `${artifacts}/console-admin.png`;
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`console screenshot: ${shot}`);
      assert.deepEqual(browser.errors, []);
    });

    /** Waits until both admin-only views (metrics, circuits) told the member they are for admins. */
    const adminOnlyShown = async () => {
      await page.locator("#metrics .status").getByText(/^Admins only/).waitFor();
      await page.locator("#limits .circuits").getByText("Admins only.").waitFor();
    };

    await t.step(
      "at 375 px a member's page fits, and admin panels say they are for admins",
      async () => {
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.setViewportSize({ width: 375, height: 800 });
        // A member's calls to admin-only APIs are answered 403, which the browser logs.
        await excusing(failedFetch(403), async () => {
          await page.getByRole("button", { name: "Sign in as local user" }).click();
          await page.getByText("Signed in as user@local.test").waitFor();
          await adminOnlyShown();
        });
        await page.locator("#health [data-provider=openai]").waitFor();
        const overflow = await page.evaluate(() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll<HTMLElement>("body *")]
            .filter((el) => el.getBoundingClientRect().right > width + 0.5)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
          return {
            width,
            scrollWidth: document.documentElement.scrollWidth,
            wide: wide.slice(0, 5),
          };
        });
        assert.equal(overflow.width, 375);
        assert.ok(overflow.scrollWidth <= 375, `page is ${overflow.scrollWidth} px wide`);
        assert.deepEqual(overflow.wide, []);
        const shot = `${artifacts}/console-375.png`;
        await page.screenshot({ path: shot, fullPage: true });
        console.log(`console screenshot (375 px): ${shot}`);
        assert.deepEqual(browser.errors, []);
      },
    );

    await t.step(
      "reset buttons appear only with a service key, which is never stored",
      async () => {
        const limits = page.locator("#limits");
        await limits.getByText("Requests available").waitFor();
        assert.equal(await limits.getByRole("button", { name: "Reset rate limit" }).count(), 0);
        const serviceKey = /service_role key:\s+(\S+)/.exec(dev.output)![1];
        await excusing(failedFetch(403), async () => {
          await page.locator("details.project > summary").click();
          await page.getByLabel("Service key (operators, optional)").fill(serviceKey);
          await page.getByRole("button", { name: "Save and connect" }).click();
          await adminOnlyShown();
        });
        // The reset reloads the panel, whose circuits call is again a member's 403.
        await excusing(failedFetch(403), async () => {
          await limits.getByRole("button", { name: "Reset rate limit" }).click();
          await limits.locator(".status").getByText("Rate limit reset.").waitFor();
          await limits.locator(".circuits").getByText("Admins only.").waitFor();
        });
        const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
        assert.ok(!stored.includes(serviceKey), "the service key is not in localStorage");
        assert.deepEqual(browser.errors, []);
      },
    );
  } finally {
    await browser.close();
    await dev.stop();
  }
});
