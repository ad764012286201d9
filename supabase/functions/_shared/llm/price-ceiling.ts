/**
 * Price ceilings: the most a model may cost per million tokens and still be
 * tried. A model is "priced above" a ceiling when any kind of token it bills
 * (input, output, cache write) costs more than the ceiling per million, so a
 * ceiling of 0 admits only free models and no token of a request can be billed
 * above what the caller allowed. Ceilings come from the deployment, the
 * account and the agent; the tightest one applies.
 */
import type { CatalogModel } from "./catalog.ts";
import type { SkipReason } from "./skip-reason.ts";

/** The model's dearest per-million-token price: what a ceiling is compared with. */
export function pricePerMTok(model: CatalogModel): number {
  const p = model.prices;
  // Cached input is never dearer than plain input, so it cannot decide the maximum.
  return Math.max(p.input, p.output, p.cacheWrite);
}

/** The lowest of the ceilings that are set; undefined when none is. */
export function tightestCeiling(
  ...ceilings: readonly (number | null | undefined)[]
): number | undefined {
  let tightest: number | undefined;
  for (const ceiling of ceilings) {
    if (ceiling === null || ceiling === undefined) continue;
    if (tightest === undefined || ceiling < tightest) tightest = ceiling;
  }
  return tightest;
}

/** The skip reason when `model` is priced above `ceiling`; undefined when it may be tried. */
export function overCeiling(
  model: CatalogModel,
  ceiling: number | undefined,
): SkipReason | undefined {
  if (ceiling === undefined) return undefined;
  const price = pricePerMTok(model);
  return price > ceiling ? { kind: "over-price-ceiling", pricePerMTok: price, ceiling } : undefined;
}
