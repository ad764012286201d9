/**
 * JSON-lines logging. Every string field passes through `redactSecrets`, so a
 * provider error that echoes a key cannot reach the log; a world that knows
 * its secrets wraps its logger with `scrubbingLogger`, which removes those
 * in every encoding first, whatever they look like.
 */
import { redactSecrets } from "./redact.ts";
import type { SecretScrubber } from "./secret-scrubber.ts";

/** Values a log field may hold. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A logger bound to one function name. */
export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** Where log lines go; `console` in production, a capture array in tests. */
export type LogSink = (level: "info" | "warn" | "error", line: string) => void;

const consoleSink: LogSink = (level, line) => console[level](line);

/**
 * A logger writing one JSON object per line to `sink`: one record and one
 * `JSON.stringify` per line; the timestamp's text is reused within a millisecond.
 */
export function jsonLogger(functionName: string, sink: LogSink = consoleSink): Logger {
  let stampedAt = Number.NaN;
  let stamp = "";
  const write = (level: "info" | "warn" | "error", event: string, fields?: LogFields) => {
    const now = Date.now();
    if (now !== stampedAt) {
      stampedAt = now;
      stamp = new Date(now).toISOString();
    }
    const record: Record<string, unknown> = { ts: stamp, level, fn: functionName, event };
    for (const key in fields) {
      const value = fields[key];
      if (value === undefined) continue;
      record[key] = typeof value === "string" ? redactSecrets(value) : value;
    }
    sink(level, JSON.stringify(record));
  };
  return {
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
  };
}

/**
 * `log` with every string field scrubbed of `secrets` (in any encoding) before
 * it is written. Pass a function to build the scrubber on the first line
 * instead (a handler created at import time must not read env until then).
 */
export function scrubbingLogger(
  log: Logger,
  secrets: SecretScrubber | (() => SecretScrubber),
): Logger {
  let scrubber = typeof secrets === "function" ? undefined : secrets;
  if (scrubber?.size === 0) return log;
  const scrubbed = (fields: LogFields | undefined): LogFields | undefined => {
    if (!fields) return fields;
    scrubber ??= (secrets as () => SecretScrubber)();
    if (scrubber.size === 0) return fields;
    // Almost every line holds no secret: it passes on as it is, copied only when one is found.
    let out: LogFields | undefined;
    for (const key in fields) {
      const value = fields[key];
      if (typeof value !== "string") continue;
      const clean = scrubber.scrub(value);
      if (clean !== value) (out ??= { ...fields })[key] = clean;
    }
    return out ?? fields;
  };
  return {
    info: (event, fields) => log.info(event, scrubbed(fields)),
    warn: (event, fields) => log.warn(event, scrubbed(fields)),
    error: (event, fields) => log.error(event, scrubbed(fields)),
  };
}
