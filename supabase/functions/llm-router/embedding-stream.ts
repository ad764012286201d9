/**
 * An embeddings answer streamed out in OpenAI's JSON shape, one vector at a
 * time, so its size in memory never depends on how many inputs were asked
 * for. Inputs go upstream in batches of at most `BATCH_FLOATS` floats of
 * answer, each holding one of the isolate's call slots while it is fetched and
 * parsed; a batch's vectors are dropped as they are written.
 *
 * The first batch is fetched before the response is committed, so an early
 * failure (no key, budget, provider down after fallbacks) is a clean error
 * response. Later batches go to the model that served the first (vectors of
 * one answer must share one model); if one of them fails, the response is cut
 * off mid-body, which every JSON client reports as an error.
 */
import type { LLMRouter } from "../_shared/llm/router.ts";
import type { RouteOutcome, TargetGate } from "../_shared/llm/route-types.ts";
import type { LLMEmbeddingResponse } from "../_shared/llm/types.ts";
import { asLLMError, LLMError } from "../_shared/llm/errors.ts";
import { vectorToBase64 } from "./vectors.ts";
import type { WorkSlots } from "./work-slots.ts";

/**
 * Floats of answer one upstream call may return: 85 inputs of 1,536
 * dimensions. As JSON text and parsed, one call's answer peaks at ~8 MB.
 */
export const BATCH_FLOATS = 131_072;

/** What to embed, for whom, and how to write it. */
export interface EmbeddingJob {
  router: LLMRouter;
  inputs: string[];
  dimensions?: number;
  modelOverride?: string;
  accountId?: string;
  gate?: TargetGate;
  /** No model priced above it (USD per million tokens) is called. */
  maxPricePerMTok?: number;
  base64: boolean;
  slots: WorkSlots;
  /** Aborts when the caller goes away. */
  signal: AbortSignal;
}

/** How a streamed answer ended: its totals, or the failure that cut it off. */
export type EmbeddingEnd =
  | { ok: true; inputTokens: number; costUsd: number }
  | { ok: false; error: LLMError };

/** A committed embeddings answer. */
export interface EmbeddingStream {
  /** How the first batch was served (the response headers). */
  route: RouteOutcome;
  body: ReadableStream<Uint8Array>;
  /** Settles when the body has been written out, cut off or cancelled. */
  end: Promise<EmbeddingEnd>;
}

/** Embeds `job.inputs`; resolves once the first batch is in, with the body still to stream. */
export async function streamEmbeddings(job: EmbeddingJob): Promise<EmbeddingStream> {
  const cancel = new AbortController();
  const signal = AbortSignal.any([job.signal, cancel.signal]);
  const first = await embedBatch(
    job,
    0,
    batchSize(firstDimensions(job)),
    job.modelOverride,
    signal,
  );
  const route = first.route;
  const model = first.model;
  // Later batches go to the model that served the first, sized by what it actually returned.
  const pinned = route.model;
  const size = batchSize(first.embeddings[0]?.length || firstDimensions(job));
  let vectors: (number[] | undefined)[] = first.embeddings;
  let offset = 0; // index of vectors[0] among all inputs
  let next = 0; // next vector of `vectors` to write
  let inputTokens = first.usage.inputTokens;
  let costUsd = first.costUsd;
  let started = false;
  let settle!: (end: EmbeddingEnd) => void;
  const end = new Promise<EmbeddingEnd>((resolve) => settle = resolve);
  const encoder = new TextEncoder();

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started) {
          started = true;
          controller.enqueue(encoder.encode('{"object":"list","data":['));
        }
        if (next === vectors.length) {
          const done = offset + vectors.length;
          if (done === job.inputs.length) {
            const usage = JSON.stringify({ prompt_tokens: inputTokens, total_tokens: inputTokens });
            controller.enqueue(
              encoder.encode(`],"model":${JSON.stringify(model)},"usage":${usage}}`),
            );
            controller.close();
            settle({ ok: true, inputTokens, costUsd });
            return;
          }
          vectors = []; // the written batch goes before the next one arrives
          const batch = await embedBatch(job, done, size, pinned, signal);
          inputTokens += batch.usage.inputTokens;
          costUsd += batch.costUsd;
          vectors = batch.embeddings;
          offset = done;
          next = 0;
        }
        const index = offset + next;
        const vector = vectors[next]!;
        vectors[next++] = undefined;
        const embedding = job.base64
          ? JSON.stringify(vectorToBase64(vector))
          : JSON.stringify(vector);
        controller.enqueue(encoder.encode(
          `${
            index === 0 ? "" : ","
          }{"object":"embedding","index":${index},"embedding":${embedding}}`,
        ));
      } catch (error) {
        const failure = asLLMError(error);
        settle({ ok: false, error: failure });
        controller.error(failure);
      }
    },
    cancel() {
      cancel.abort();
      vectors = [];
      settle({ ok: false, error: new LLMError("ABORTED", "The caller went away") });
    },
  });
  return { route, body, end };
}

/** One upstream call for `size` inputs from `from`, holding a call slot while it runs. */
async function embedBatch(
  job: EmbeddingJob,
  from: number,
  size: number,
  modelOverride: string | undefined,
  signal: AbortSignal,
): Promise<LLMEmbeddingResponse & { route: RouteOutcome; costUsd: number }> {
  const release = await job.slots.acquire(signal);
  try {
    return await job.router.embed({
      input: job.inputs.slice(from, from + size),
      dimensions: job.dimensions,
      modelOverride,
      accountId: job.accountId,
      gate: job.gate,
      maxPricePerMTok: job.maxPricePerMTok,
    }, signal);
  } finally {
    release();
  }
}

/** Inputs per upstream call for vectors of `dimensions` floats. */
function batchSize(dimensions: number): number {
  return Math.max(1, Math.floor(BATCH_FLOATS / dimensions));
}

/** The vector size to plan the first batch for: asked, the override's, or the largest there is. */
function firstDimensions(job: EmbeddingJob): number {
  if (job.dimensions !== undefined) return job.dimensions;
  const catalog = job.router.catalog;
  const override = job.modelOverride ? catalog.get(job.modelOverride) : undefined;
  if (override?.embeddingDimensions) return override.embeddingDimensions;
  let largest = 0;
  for (const model of catalog.all()) {
    if (model.capabilities.embeddings) largest = Math.max(largest, model.embeddingDimensions ?? 0);
  }
  return largest || 3_072;
}
