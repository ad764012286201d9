/** How the console writes numbers: money, durations, rates, token counts, times. */

/** US dollars with enough digits to show a fraction of a cent (`$0.000042`). */
export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value === 0) return "$0";
  // Two significant digits below a dollar, cents above.
  const digits = Math.max(2, Math.min(8, 1 - Math.floor(Math.log10(Math.abs(value)))));
  return `$${value.toFixed(digits)}`;
}

/** Milliseconds as `850 ms` or `1.24 s`. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** A 0–1 rate as a percentage. */
export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${(value * 100).toFixed(value === 1 || value === 0 ? 0 : 1)}%`;
}

/** A count with thousands separators. */
export function count(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US");
}

/** An ISO time as the reader's local date and time. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
