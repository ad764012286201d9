/**
 * A closed-loop load generator: `concurrency` workers send requests back to
 * back for `seconds`, recording each request's total latency and time to the
 * first body byte.
 */

/** One scenario's request. */
export interface LoadRequest {
  url: string;
  init: () => RequestInit;
}

/** Measured outcome of a scenario. */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number };
  firstByteMs: { p50: number; p99: number };
}

/** The q-quantile of sorted `values` (nearest rank). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Merges several runs of one scenario: totals and percentiles over every request. */
export function mergeResults(runs: readonly LoadSamples[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const firstBytes = runs.flatMap((r) => r.firstBytes).sort((a, b) => a - b);
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  return {
    requests: latencies.length,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    seconds,
    requestsPerSecond: latencies.length / seconds,
    latencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) },
    firstByteMs: { p50: quantile(firstBytes, 0.5), p99: quantile(firstBytes, 0.99) },
  };
}

/** The raw measurements of one run. */
export interface LoadSamples {
  latencies: number[];
  firstBytes: number[];
  errors: number;
  seconds: number;
}

/** Runs the load and summarizes it. Warm-up requests are not counted. */
export async function runLoad(
  request: LoadRequest,
  concurrency: number,
  seconds: number,
  warmupSeconds = 0.5,
): Promise<LoadResult> {
  return mergeResults([await sampleLoad(request, concurrency, seconds, warmupSeconds)]);
}

/** Runs the load and returns every measurement. */
export async function sampleLoad(
  request: LoadRequest,
  concurrency: number,
  seconds: number,
  warmupSeconds = 0.5,
): Promise<LoadSamples> {
  const latencies: number[] = [];
  const firstBytes: number[] = [];
  let errors = 0;
  const warmupEnds = performance.now() + warmupSeconds * 1000;
  const ends = warmupEnds + seconds * 1000;

  const worker = async () => {
    while (performance.now() < ends) {
      const started = performance.now();
      let firstByte = NaN;
      try {
        const response = await fetch(request.url, request.init());
        const reader = response.body!.getReader();
        while (true) {
          const { done } = await reader.read();
          if (Number.isNaN(firstByte)) firstByte = performance.now() - started;
          if (done) break;
        }
        if (!response.ok) throw new Error(`status ${response.status}`);
      } catch {
        if (started >= warmupEnds) errors++;
        continue;
      }
      if (started >= warmupEnds) {
        latencies.push(performance.now() - started);
        firstBytes.push(firstByte);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, firstBytes, errors, seconds };
}
