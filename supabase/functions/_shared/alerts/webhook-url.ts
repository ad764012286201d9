/**
 * Which webhook URLs the gateway will call, and how one may be shown. A
 * webhook's path is often its secret (Slack's incoming webhooks), so what is
 * shown or logged is its origin only, and no problem message quotes the URL.
 */

import type { EnvReader } from "../runtime/env.ts";

/** Longest URL accepted. */
export const MAX_WEBHOOK_URL_CHARS = 2048;

/** Whether plain-http webhooks to this machine are allowed (LLM_ALLOW_HTTP_WEBHOOKS=loopback). */
export type HttpWebhooks = "never" | "loopback";

/** LLM_ALLOW_HTTP_WEBHOOKS: `loopback` (local development), else https only; another value is a warning. */
export function httpWebhooksSetting(env: EnvReader, warnings: string[]): HttpWebhooks {
  const raw = env("LLM_ALLOW_HTTP_WEBHOOKS")?.trim();
  if (!raw || raw === "never") return "never";
  if (raw === "loopback") return "loopback";
  warnings.push(
    `LLM_ALLOW_HTTP_WEBHOOKS=${raw.slice(0, 20)} is not "loopback"; webhooks must be https`,
  );
  return "never";
}

/** A URL that passed, normalized, with what may be shown of it. */
export interface CheckedWebhookUrl {
  url: string;
  hint: string;
}

/**
 * The URL if the gateway may call it, else the problem (which never quotes
 * it): https to a public host; to this machine (`localhost`, 127.0.0.0/8,
 * `[::1]`), https or http, only with `loopback`. Private, link-local and
 * unspecified addresses are refused, so an account cannot aim the gateway's
 * requests at its own network (a host name is not resolved here: one that
 * resolves to such an address is not caught).
 */
export function checkWebhookUrl(
  raw: string,
  http: HttpWebhooks,
): CheckedWebhookUrl | { problem: string } {
  if (raw.length > MAX_WEBHOOK_URL_CHARS) {
    return { problem: `must be at most ${MAX_WEBHOOK_URL_CHARS} characters` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: "must be an absolute URL (https://…)" };
  }
  if (url.username || url.password) {
    return { problem: "must not carry a user name or password" };
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === "http:") {
    if (http === "loopback" && loopback) return { url: url.href, hint: webhookUrlHint(url) };
    return {
      problem: http === "loopback"
        ? "must be https (http is allowed to this machine only: localhost, 127.0.0.1, [::1])"
        : "must be https (http to this machine needs LLM_ALLOW_HTTP_WEBHOOKS=loopback)",
    };
  }
  if (url.protocol !== "https:") return { problem: "must be https" };
  if (loopback && http !== "loopback") {
    return {
      problem: "must not point at this machine (LLM_ALLOW_HTTP_WEBHOOKS=loopback allows it)",
    };
  }
  if (!loopback && isPrivateAddress(url.hostname)) {
    return { problem: "must not point at a private, link-local or unspecified address" };
  }
  return { url: url.href, hint: webhookUrlHint(url) };
}

/** What may be shown or logged of a webhook URL: scheme, host and port; the path is elided. */
export function webhookUrlHint(url: URL | string): string {
  const parsed = typeof url === "string" ? new URL(url) : url;
  const hasPath = parsed.pathname !== "/" || parsed.search !== "";
  return `${parsed.protocol}//${parsed.host}${hasPath ? "/…" : ""}`;
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Address literals no public webhook lives at (host names are not resolved). */
function isPrivateAddress(hostname: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(hostname);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  if (!hostname.startsWith("[")) return false;
  const v6 = hostname.slice(1, -1).toLowerCase();
  // Unspecified, unique-local (fc00::/7), link-local (fe80::/10), and IPv4-mapped (checked as v4
  // would need its own parse: refused whole, no webhook needs one).
  return v6 === "::" || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6) || v6.startsWith("::ffff:");
}
