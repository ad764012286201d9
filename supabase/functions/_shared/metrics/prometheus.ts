/**
 * The Prometheus text exposition (format 0.0.4) of the metrics: `llm_`
 * names, HELP and TYPE lines, cumulative histogram buckets in seconds, and
 * labels only from closed sets, so the number of series stays bounded. An
 * account's exposition has the same families over its own series; the
 * queue counters are the platform's only.
 */
import { LATENCY_BUCKETS_MS } from "./buckets.ts";
import type { CircuitReport } from "./report.ts";
import { uptimeSeconds } from "./report.ts";
import type { MetricsSnapshot, SeriesTotals } from "./snapshot.ts";
import { bucketCounts } from "./summary.ts";
import { UNITS } from "./sample.ts";

/** The content type Prometheus expects. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

const escape = (value: string) =>
  value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(",");
  return `${name}${pairs ? `{${pairs}}` : ""} ${Number.isFinite(value) ? value : 0}`;
}

class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: string[]) {
    if (samples.length === 0) return;
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

// A model's deployment is a label only on its deployments' series.
const seriesLabels = (s: SeriesTotals): Labels =>
  s.labels.deployment === undefined
    ? { provider: s.labels.provider, model: s.labels.model, use_case: s.labels.useCase }
    : {
      provider: s.labels.provider,
      model: s.labels.model,
      use_case: s.labels.useCase,
      deployment: s.labels.deployment,
    };

function histogram(
  name: string,
  series: readonly SeriesTotals[],
  prefix: string,
  sumField: string,
  countField: string,
): string[] {
  const lines: string[] = [];
  for (const s of series) {
    const count = s.counts[countField] ?? 0;
    if (count === 0) continue;
    const labels = seriesLabels(s);
    const buckets = bucketCounts(s.counts, prefix);
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      cumulative += buckets[i];
      lines.push(sample(`${name}_bucket`, { ...labels, le: String(bound / 1000) }, cumulative));
    });
    lines.push(sample(`${name}_bucket`, { ...labels, le: "+Inf" }, count));
    lines.push(sample(`${name}_sum`, labels, UNITS.ms(s.counts[sumField] ?? 0) / 1000));
    lines.push(sample(`${name}_count`, labels, count));
  }
  return lines;
}

const STATE_VALUE = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 } as const;

/** `llm_tokens_total`'s `type` label and the counter each reads. */
const TOKEN_TYPES = [
  ["input", "tok_in"],
  ["output", "tok_out"],
  ["cached_input", "tok_cached"],
  ["reasoning", "tok_reasoning"],
] as const;

/** The exposition of `snapshot` and `circuits` at `now`. */
export function prometheusText(
  snapshot: MetricsSnapshot,
  circuits: readonly CircuitReport[],
  now: number,
): string {
  const out = new Exposition();
  const series = snapshot.series;
  const counter = (name: string, help: string, field: string, transform = (v: number) => v) =>
    out.family(
      name,
      "counter",
      help,
      series.map((s) => sample(name, seriesLabels(s), transform(s.counts[field] ?? 0))),
    );

  counter("llm_requests_total", "Requests by provider, model and use case.", "requests");
  counter("llm_request_successes_total", "Requests answered successfully.", "ok");
  out.family(
    "llm_request_failures_total",
    "counter",
    "Failed or aborted requests by error code.",
    series.flatMap((s) =>
      Object.entries(s.counts)
        .filter(([field, value]) => field.startsWith("err:") && value > 0)
        .map(([field, value]) =>
          sample("llm_request_failures_total", {
            ...seriesLabels(s),
            code: field.slice(4),
          }, value)
        )
    ),
  );
  out.family(
    "llm_request_duration_seconds",
    "histogram",
    "Request latency, end to end.",
    histogram("llm_request_duration_seconds", series, "lat", "lat_sum_us", "requests"),
  );
  out.family(
    "llm_time_to_first_token_seconds",
    "histogram",
    "Streams: time until the first event.",
    histogram("llm_time_to_first_token_seconds", series, "ttft", "ttft_sum_us", "ttft_count"),
  );
  out.family(
    "llm_gateway_overhead_seconds",
    "histogram",
    "Time spent in the gateway itself, provider time and backoff excluded.",
    histogram("llm_gateway_overhead_seconds", series, "ovh", "ovh_sum_us", "ovh_count"),
  );
  out.family(
    "llm_tokens_total",
    "counter",
    "Tokens by type (input includes cached input; output includes reasoning).",
    series.flatMap((s) =>
      TOKEN_TYPES.map(([type, field]) =>
        sample("llm_tokens_total", { ...seriesLabels(s), type }, s.counts[field] ?? 0)
      )
    ),
  );
  counter(
    "llm_cost_usd_total",
    "Cost in USD from provider usage and catalog prices.",
    "cost_nano",
    UNITS.usd,
  );
  counter("llm_retries_total", "Provider calls repeated on the same target.", "retries");
  counter("llm_fallbacks_total", "Requests served by a fallback target.", "fallbacks");
  counter("llm_cache_hits_total", "Requests answered from the response cache.", "cache_hits");
  out.family(
    "llm_rejections_total",
    "counter",
    "Requests refused by a guard before any provider call.",
    series.flatMap((s) =>
      (["rate_limit", "budget"] as const)
        .filter((reason) => (s.counts[`rej:${reason}`] ?? 0) > 0)
        .map((reason) =>
          sample("llm_rejections_total", { ...seriesLabels(s), reason }, s.counts[`rej:${reason}`])
        )
    ),
  );
  out.family(
    "llm_circuit_state",
    "gauge",
    "Circuit per provider, model and deployment: 0 closed, 1 open, 2 half-open.",
    circuits.map((c) =>
      sample(
        "llm_circuit_state",
        {
          provider: c.provider,
          model: c.model,
          ...(c.deployment !== undefined ? { deployment: c.deployment } : {}),
        },
        STATE_VALUE[c.state],
      )
    ),
  );
  out.family(
    "llm_queue_rows_set_aside_total",
    "counter",
    "Rows a background queue set aside because the database refused them.",
    Object.entries(snapshot.queues ?? {}).map(([queue, totals]) =>
      sample("llm_queue_rows_set_aside_total", { queue }, totals.setAside)
    ),
  );
  out.family("llm_uptime_seconds", "gauge", "Seconds since counting started.", [
    sample("llm_uptime_seconds", {}, uptimeSeconds(snapshot, now)),
  ]);
  return out.text();
}
