/// <reference lib="dom" />
/** A small horizontal bar chart drawn as inline SVG: no library, scales to its container. */
import { svg } from "./dom.ts";

/** One bar: its label, value and the value as text. */
export interface Bar {
  label: string;
  value: number;
  text: string;
}

const ROW = 22;
const LABEL_WIDTH = 110;
const WIDTH = 320;

/**
 * Bars for `bars`, longest = full width, with labels and values as text (so
 * the chart reads without colour); `title` names it for screen readers.
 */
export function barChart(title: string, bars: Bar[]): SVGElement {
  const max = Math.max(...bars.map((b) => b.value), 0);
  const height = Math.max(ROW, bars.length * ROW);
  const span = WIDTH - LABEL_WIDTH - 70;
  return svg(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${WIDTH} ${height}`,
      role: "img",
      "aria-label": title,
      preserveAspectRatio: "xMinYMin meet",
    },
    svg("title", {}, title),
    ...bars.map((bar, i) => {
      const y = i * ROW;
      const width = max > 0 ? Math.max(1, (bar.value / max) * span) : 1;
      return svg(
        "g",
        {},
        svg("text", { x: 0, y: y + 15, class: "chart-label" }, bar.label.slice(0, 16)),
        svg("rect", { x: LABEL_WIDTH, y: y + 4, width: width.toFixed(1), height: 14, rx: 2 }),
        svg("text", { x: LABEL_WIDTH + width + 4, y: y + 15, class: "chart-value" }, bar.text),
      );
    }),
  );
}
