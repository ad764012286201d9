/**
 * JSON-lines logging. Every string field passes through `redactSecrets`, so a
 * provider error that echoes a key cannot reach the log.
 */
import { redactSecrets } from "../security/redact.ts";

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

/** A logger writing one JSON object per line to `sink`. */
export function jsonLogger(functionName: string, sink: LogSink = consoleSink): Logger {
  const write = (level: "info" | "warn" | "error", event: string, fields: LogFields = {}) => {
    const record: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level,
      fn: functionName,
      event,
    };
    for (const [key, value] of Object.entries(fields)) {
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
