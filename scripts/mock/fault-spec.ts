/**
 * The mock provider's fault language. A spec is a comma-separated list of
 * directives, given per request in the `x-mock-fault` header, appended to the
 * model name after `::` (`gpt-4o-mini::status=503`), or queued on the mock.
 *
 * | directive        | effect                                                              |
 * |------------------|---------------------------------------------------------------------|
 * | `status=N`       | answer N with the provider's error body (529 = Anthropic overloaded) |
 * | `code=C`         | the error body's code/type, e.g. `context_length_exceeded`          |
 * | `retry-after=S`  | `retry-after` header (seconds) on the error                         |
 * | `delay=MS`       | wait before answering                                               |
 * | `hang`           | never answer; ends only when the client gives up                    |
 * | `reset`          | destroy the connection without an answer                            |
 * | `reset-after=N`  | stream N events (JSON: half the body), then destroy the connection  |
 * | `cut=N`          | stream N events (JSON: half the body), then end cleanly, no terminator |
 * | `malformed=N`    | the Nth stream event (JSON: the body) is not valid JSON             |
 * | `error-event=N`  | after N events, a provider error event, then the end                |
 * | `chunk-delay=MS` | pause between stream events                                         |
 * | `words=N`        | reply length in words (default 20)                                  |
 * | `times=N`        | apply the spec to its first N requests only, then answer normally   |
 */

/** A parsed spec. Unset fields mean "behave normally". */
export interface FaultPlan {
  status?: number;
  code?: string;
  retryAfter?: string;
  delayMs?: number;
  hang?: boolean;
  reset?: boolean;
  resetAfter?: number;
  cut?: number;
  malformed?: number;
  errorEvent?: number;
  chunkDelayMs?: number;
  words?: number;
  times?: number;
}

/** Thrown for a spec the mock cannot read; answered with 400 so the test author sees it. */
export class FaultSpecError extends Error {}

const NUMBERS: Record<string, keyof FaultPlan> = {
  "status": "status",
  "delay": "delayMs",
  "reset-after": "resetAfter",
  "cut": "cut",
  "malformed": "malformed",
  "error-event": "errorEvent",
  "chunk-delay": "chunkDelayMs",
  "words": "words",
  "times": "times",
};

/** Parses a spec such as `status=429,retry-after=2,times=1`. */
export function parseFaultSpec(spec: string): FaultPlan {
  const plan: FaultPlan = {};
  for (const part of spec.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split("=", 2) as [string, string | undefined];
    if (key === "hang" || key === "reset") {
      plan[key] = true;
    } else if (key === "code") {
      plan.code = value;
    } else if (key === "retry-after") {
      plan.retryAfter = value;
    } else if (key in NUMBERS) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) {
        throw new FaultSpecError(`mock fault ${key} needs a whole number, got ${value}`);
      }
      (plan as Record<string, unknown>)[NUMBERS[key]] = n;
    } else {
      throw new FaultSpecError(`unknown mock fault directive "${key}"`);
    }
  }
  if (plan.status !== undefined && (plan.status < 100 || plan.status > 599)) {
    throw new FaultSpecError(`mock fault status must be 100-599, got ${plan.status}`);
  }
  return plan;
}

/** Splits `model::spec` into the model and its spec. */
export function splitModelFault(model: string): { model: string; spec?: string } {
  const at = model.indexOf("::");
  return at === -1 ? { model } : { model: model.slice(0, at), spec: model.slice(at + 2) };
}
