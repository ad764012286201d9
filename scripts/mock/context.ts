/** What the mock's protocol handlers share: the fault plan, the request's log record, ids. */
import { FaultPlan } from "./fault-spec.ts";
import { StreamOutcome } from "./sse-script.ts";

/** One request as the mock saw it; tests read these to assert what reached "the provider". */
export interface MockRequestRecord {
  id: number;
  method: string;
  path: string;
  /** The model without any `::fault` suffix. */
  model?: string;
  stream: boolean;
  /** The fault spec applied, if any. */
  fault?: string;
  status?: number;
  /** How the answer ended; `pending` while it is being sent, `hung` while a `hang` fault holds it. */
  outcome: StreamOutcome | "pending" | "error-status" | "hung";
  eventsSent: number;
  /** The credential the request carried (tests check which key was used). */
  apiKey?: string;
  body: unknown;
  receivedAt: number;
}

/** Per-request context handed to a protocol handler. */
export interface MockContext {
  plan: FaultPlan;
  record: MockRequestRecord;
  signal: AbortSignal;
  /** Deterministic ids: `prefix` + a per-mock counter. */
  nextId: (prefix: string) => string;
  /** Prompt prefixes seen before, for prompt-cache token accounting. */
  seenPrefixes: Set<string>;
  /** Default reply length in words. */
  defaultWords: number;
}

/** A fixed creation time, so answers are byte-for-byte repeatable. */
export const MOCK_CREATED = 1_767_225_600;
