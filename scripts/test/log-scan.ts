/**
 * The suite's secret scan: every JSON log line the functions wrote during
 * `deno task test` (collected in TEST_LOG_FILE) must hold no secret. A
 * secret is anything the redaction rules recognise (API keys, bearer
 * tokens, JWTs), or any key-like literal the tests themselves use, in any
 * form the functions' own scrubber knows (raw, URL-encoded, JSON-escaped,
 * base64, masked).
 */
import { redactSecrets } from "../../supabase/functions/_shared/runtime/redact.ts";
import {
  SCRUBBED,
  SecretScrubber,
} from "../../supabase/functions/_shared/runtime/secret-scrubber.ts";

/** A line that holds a secret. */
export interface SecretFinding {
  /** 1-based line number in the log file. */
  line: number;
  reason: string;
  /** The line with the secret masked, so the report does not repeat it. */
  excerpt: string;
}

// Key-shaped literals in test sources: provider keys (`tnt+…` ones have a prefix no redaction
// pattern knows), gateway keys, alert webhooks' signing secrets, service and job secrets, the
// JWT secret. (Gateway keys the tests make at run time are caught by the redaction rules'
// `llmk_` pattern.)
const SECRET_LITERAL =
  /["'`]((?:sk-|tnt\+|llmk_|whsec_|service-role-key|job-secret|super-secret-jwt-token)[A-Za-z0-9_\-+/=]{6,})["'`]/g;

/** The key-like string literals in the given source texts. */
export function secretLiteralsIn(sources: readonly string[]): string[] {
  const found = new Set<string>();
  for (const source of sources) {
    for (const match of source.matchAll(SECRET_LITERAL)) found.add(match[1]);
  }
  return [...found];
}

/** Every JSON log line in `text` (other output is skipped) that holds a secret. */
export function findSecrets(text: string, known: readonly string[]): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const scrubber = new SecretScrubber(known);
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (!line.startsWith("{") || !line.includes('"event"')) return;
    const scrubbed = scrubber.scrub(line);
    const redacted = redactSecrets(scrubbed);
    if (scrubbed === line && redacted === line) return;
    findings.push({
      line: index + 1,
      reason: scrubbed !== line ? "a test's secret" : "a secret-shaped value",
      excerpt: redacted.replaceAll(SCRUBBED, "[KNOWN SECRET]").slice(0, 300),
    });
  });
  return findings;
}

/** Scans `logFile` against the literals of every file under `testDir`; prints and returns the findings. */
export async function scanSuiteLogs(logFile: string, testDir: string): Promise<SecretFinding[]> {
  const sources: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) sources.push(await Deno.readTextFile(path));
    }
  };
  await walk(testDir);
  let text = "";
  try {
    text = await Deno.readTextFile(logFile);
  } catch {
    // No test wrote a log line.
  }
  const findings = findSecrets(text, secretLiteralsIn(sources));
  const lines = text.split("\n").filter((l) => l.trim().startsWith("{")).length;
  if (findings.length === 0) {
    console.log(`log scan: ${lines} log lines from the suite, no secret in any`);
  } else {
    console.error(`log scan: ${findings.length} log lines hold a secret:`);
    for (const f of findings.slice(0, 20)) {
      console.error(`  line ${f.line} (${f.reason}): ${f.excerpt}`);
    }
  }
  return findings;
}
