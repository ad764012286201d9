/// <reference lib="dom" />
/** The line under each answer: who served it, how, what it used and cost, and how fast. */
import { h } from "./dom.ts";
import { count, ms, usd } from "./format.ts";

/** What is known about one answer; anything missing is shown as "—". */
export interface AnswerFacts {
  provider?: string;
  model?: string;
  attempts?: number;
  /** 0: the first target of the chain served it; n: the (n+1)th, after falling back. */
  fallbackIndex?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  firstTokenMs?: number;
  totalMs?: number;
}

function servedBy(facts: AnswerFacts): string {
  if (!facts.model) return "—";
  return facts.provider ? `${facts.provider}/${facts.model}` : facts.model;
}

function fallback(index: number | undefined): string {
  if (index === undefined) return "—";
  return index === 0 ? "none" : `yes (target ${index + 1} of the chain)`;
}

function tokens(facts: AnswerFacts): string {
  if (facts.inputTokens === undefined && facts.outputTokens === undefined) return "—";
  return `${count(facts.inputTokens)} in / ${count(facts.outputTokens)} out`;
}

/** A `<dl>` of the answer's facts; each value carries `data-stat` for tests and styling. */
export function answerStats(facts: AnswerFacts): HTMLElement {
  const rows: [string, string, string][] = [
    ["served-by", "Served by", servedBy(facts)],
    ["attempts", "Attempts", facts.attempts === undefined ? "—" : String(facts.attempts)],
    ["fallback", "Fallback", fallback(facts.fallbackIndex)],
    ["tokens", "Tokens", tokens(facts)],
    ["cost", "Cost", usd(facts.costUsd)],
    ["first-token", "First token", ms(facts.firstTokenMs)],
    ["total", "Total", ms(facts.totalMs)],
  ];
  return h(
    "dl",
    { class: "stats" },
    ...rows.map(([key, label, value]) =>
      h("div", {}, h("dt", {}, label), h("dd", { "data-stat": key }, value))
    ),
  );
}
