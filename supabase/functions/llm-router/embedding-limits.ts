/**
 * How much embedding work one request may ask for, and how much one isolate
 * runs at once. An embeddings answer is ~40× its request (a float per
 * dimension per input, as JSON text), so both ends are bounded: the request
 * by input count and input bytes, the isolate by slots for upstream calls
 * (see `embedding-stream.ts`).
 */
import { type EnvReader, intSetting } from "../_shared/runtime/env.ts";
import { validationError } from "../_shared/http/errors.ts";
import { utf8Length } from "../_shared/llm/token-count.ts";
import { WorkSlots } from "./work-slots.ts";

/** The embeddings limits of one isolate. */
export interface EmbeddingLimits {
  /** Inputs one request may embed (LLM_EMBEDDINGS_MAX_INPUTS). */
  maxInputs: number;
  /** UTF-8 bytes of input text one request may embed, all inputs together (LLM_EMBEDDINGS_MAX_INPUT_BYTES). */
  maxInputBytes: number;
  /** Upstream embedding calls in flight in this isolate. */
  slots: WorkSlots;
}

/**
 * Upstream embedding calls one isolate makes at once. Each holds at most
 * `BATCH_FLOATS` floats of answer while it is read and parsed (~8 MB), so
 * four of them stay well inside Supabase's 256 MB per isolate.
 */
const CALLS_AT_ONCE = 4;
/**
 * 256 KiB of text per request. A request's text is held until its last batch
 * is sent, and reading a body costs the runtime several times its size: with
 * llm-router's default burst of 50 requests arriving at once, 256 KiB each
 * kept the process near 210 MB, 1 MiB each took it near 300 MB.
 */
const DEFAULT_MAX_INPUT_BYTES = 262_144;
/** Requests that may wait for a call slot; more are refused with 503 and Retry-After. */
const MAX_WAITING = 256;

/** The limits from env; bad values fall back to the defaults with a warning. */
export function embeddingLimitsFromEnv(env: EnvReader, warnings: string[]): EmbeddingLimits {
  return {
    // OpenAI's own limit; providers refuse more in one call.
    maxInputs: intSetting(
      env,
      "LLM_EMBEDDINGS_MAX_INPUTS",
      2_048,
      { min: 1, max: 2_048 },
      warnings,
    ),
    maxInputBytes: intSetting(
      env,
      "LLM_EMBEDDINGS_MAX_INPUT_BYTES",
      DEFAULT_MAX_INPUT_BYTES,
      { min: 1_024, max: 16_777_216 },
      warnings,
    ),
    slots: new WorkSlots(CALLS_AT_ONCE, MAX_WAITING),
  };
}

/** Throws a 400 naming `input` when `inputs` exceed the per-request limits. */
export function checkEmbeddingInputs(inputs: readonly string[], limits: EmbeddingLimits): void {
  if (inputs.length > limits.maxInputs) {
    throw validationError("input", `must have at most ${limits.maxInputs} entries`);
  }
  let bytes = 0;
  for (const text of inputs) bytes += utf8Length(text);
  if (bytes > limits.maxInputBytes) {
    throw validationError(
      "input",
      `totals ${bytes} bytes of text; at most ${limits.maxInputBytes} may be embedded in one request`,
    );
  }
}
