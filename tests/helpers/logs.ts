/**
 * Loggers for tests. Each keeps its lines for the test to read and copies
 * them to the suite's log file (TEST_LOG_FILE, set by `deno task test`),
 * which is scanned for secrets once every test has run.
 */
import { jsonLogger, type Logger } from "../../supabase/functions/_shared/runtime/log.ts";

/** Appends `text` (log lines) to the suite's log file, when there is one. */
export function keepSuiteLogs(text: string): void {
  const file = Deno.env.get("TEST_LOG_FILE");
  if (!file || text === "") return;
  Deno.writeTextFileSync(file, text.endsWith("\n") ? text : `${text}\n`, { append: true });
}

/** A JSON-lines logger for function `fn` whose lines go to `into` and to the suite's log file. */
export function testLogger(fn: string, into: string[] = []): Logger {
  return jsonLogger(fn, (_level, line) => {
    into.push(line);
    keepSuiteLogs(line);
  });
}
