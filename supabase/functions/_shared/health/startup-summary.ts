/**
 * The one-line summary a function logs once, on its first request: what is
 * configured (keys masked) and whether the database and the store answered.
 * The reachability checks run in the background, each bounded, so the first
 * request never waits on them and a dead dependency shows as a log line.
 */
import type { LogFields, Logger } from "../runtime/log.ts";
import { healthErrorText } from "./error-text.ts";
import { withTimeout } from "./with-timeout.ts";

/** A dependency to try once; undefined when it is not configured. */
export type StartupCheck = ((signal: AbortSignal) => Promise<unknown>) | undefined;

/** Logs `<event>` with `fields` and, for each check, `reachable (N ms)`, `unreachable: …` or `none`. */
export function logStartupSummary(
  log: Logger,
  event: string,
  fields: LogFields,
  checks: Record<string, StartupCheck>,
  waitUntil: (work: Promise<unknown>) => void,
  timeoutMs = 2_000,
): void {
  const work = (async () => {
    const results: LogFields = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        if (!check) {
          results[name] = "none";
          return;
        }
        const started = performance.now();
        try {
          await withTimeout(check, timeoutMs, name);
          results[name] = `reachable (${Math.round(performance.now() - started)} ms)`;
        } catch (error) {
          results[name] = `unreachable: ${healthErrorText(error)}`;
        }
      }),
    );
    const anyDown = Object.values(results).some((r) => String(r).startsWith("unreachable"));
    (anyDown ? log.warn : log.info)(event, { ...fields, ...results });
  })();
  waitUntil(work);
}
