/**
 * A headless Debian Chromium for browser tests, driven by playwright-core:
 * a fresh profile in a temp dir, the project's fixed flags, and every
 * console error and uncaught exception the pages report kept for the test.
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { CHROMIUM_FLAGS, ensureChromium } from "../../scripts/test/chromium.ts";

/** A running browser with one page. */
export interface TestBrowser {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions, in order, as `type: text`. */
  errors: string[];
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches Chromium (installing it first when missing) with a page of `width` × `height`. */
export async function launchBrowser(
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
): Promise<TestBrowser> {
  const executablePath = await ensureChromium();
  const profile = await Deno.makeTempDir({ prefix: "llm-gateway-chromium-" });
  // playwright passes the profile as --user-data-dir itself: a fresh one per browser.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console.error: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  return {
    page,
    context,
    errors,
    async close() {
      try {
        await context.close();
      } finally {
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    },
  };
}
