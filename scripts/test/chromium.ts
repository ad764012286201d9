/**
 * Debian's Chromium for the browser tests (driven by playwright-core, which
 * never downloads a browser of its own): installed with apt-get when missing.
 */
import { aptInstall } from "./system.ts";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * The flags every test browser runs with: headless, no sandbox (tests run as
 * root), and nothing that reaches the network on its own.
 */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function installed(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

/** The Chromium binary, installing Debian's package first when there is none. */
export async function ensureChromium(): Promise<string> {
  if (installed()) return CHROMIUM_PATH;
  console.error("Chromium is not installed: installing Debian's chromium package…");
  await aptInstall("chromium");
  if (!installed()) {
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
  }
  return CHROMIUM_PATH;
}
