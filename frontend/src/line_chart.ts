// Line charts as inline SVG, drawn here (no chart library): a training run's loss and metrics over its
// steps, and two runs' curves on one chart. The axes get "nice" ticks (1, 2 or 5 × 10ⁿ); colours and
// strokes come from CSS classes (line_chart.css), so the theme's light and dark variables apply. Names
// and numbers go in as text nodes only. Pointing at the chart shows the values at the nearest step in a
// line under it; with `tableSummary`, the values are also a table under a fold, for keyboards and
// screen readers (at most about a hundred rows, evenly spread, the last one always in).

import "./line_chart.css";
import { el, replaceChildren, svg } from "./dom";

export interface Series {
  /** Shown in the legend and the read-out. */
  label: string;
  /** (x, y) pairs; non-finite y values break the line. */
  points: [number, number][];
  dashed?: boolean;
  /** Which of the six theme colours (by default, the series' place): a run's curves share one. */
  colour?: number;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  /** How a y value is written on the axis and in the read-out. */
  format: (value: number) => string;
  formatX?: (value: number) => string;
  emptyText: string;
  /** A name for tests and styles (data-chart). */
  name: string;
  /** A small chart (one of a grid) is drawn on a narrower canvas, so its labels stay readable. */
  small?: boolean;
  /** The fold's title for the values as a table; no table without it. */
  tableSummary?: string;
}

const TABLE_ROWS = 100;

function valuesTable(series: Series[], finite: [number, number][][], options: ChartOptions, formatX: (value: number) => string): HTMLElement {
  const xs = [...new Set(finite.flat().map(([x]) => x))].sort((a, b) => a - b);
  const every = Math.max(1, Math.ceil(xs.length / TABLE_ROWS));
  const shown = xs.filter((_, index) => index % every === 0 || index === xs.length - 1);
  const lookup = finite.map((points) => new Map(points));
  const head = el("tr", {}, el("th", { attrs: { scope: "col" }, text: options.xLabel }), ...series.map((one) => el("th", { className: "num", attrs: { scope: "col" }, text: one.label })));
  const rows = shown.map((x) =>
    el(
      "tr",
      {},
      el("th", { attrs: { scope: "row" }, text: formatX(x) }),
      ...lookup.map((values) => el("td", { className: "num", text: values.has(x) ? options.format(values.get(x)!) : "" })),
    ),
  );
  return el(
    "details",
    { className: "chart-values" },
    el("summary", { text: options.tableSummary ?? "" }),
    el("div", { className: "table-wrap" }, el("table", { className: "data" }, el("thead", {}, head), el("tbody", {}, ...rows))),
  );
}

const MARGIN = { left: 64, right: 14, top: 10, bottom: 30 };

/** About `count` round tick values covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) {
    // Rounded to the step's digits, so 0.30000000000000004 is written 0.3.
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

function extent(values: number[]): [number, number] {
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    const pad = Math.abs(low) * 0.1 || 1;
    low -= pad;
    high += pad;
  }
  return [low, high];
}

export function lineChart(series: Series[], options: ChartOptions): HTMLElement {
  const finite = series.map((one) => one.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const all = finite.flat();
  const figure = el("figure", { className: "line-chart", data: { chart: options.name, points: all.length } });
  const caption = el("figcaption", { text: options.title });
  if (!all.length) {
    replaceChildren(figure, caption, el("p", { className: "chart-empty", text: options.emptyText }));
    return figure;
  }
  const formatX = options.formatX ?? ((value: number) => String(value));
  const WIDTH = options.small ? 340 : 600;
  const HEIGHT = options.small ? 190 : 220;
  const [xLow, xHigh] = extent(all.map(([x]) => x));
  const [yLowRaw, yHighRaw] = extent(all.map(([, y]) => y));
  const yPad = (yHighRaw - yLowRaw) * 0.05;
  const yLow = yLowRaw - yPad;
  const yHigh = yHighRaw + yPad;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xAt = (x: number): number => MARGIN.left + ((x - xLow) / (xHigh - xLow)) * plotWidth;
  const yAt = (y: number): number => MARGIN.top + (1 - (y - yLow) / (yHigh - yLow)) * plotHeight;

  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "chart-svg" });
  const title = svg("title");
  title.textContent = options.title;
  chart.append(title);

  const grid = svg("g", { class: "grid" });
  for (const tick of niceTicks(yLow, yHigh, 4)) {
    const y = yAt(tick);
    grid.append(svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y }));
    const label = svg("text", { x: MARGIN.left - 6, y: y + 4, class: "tick y" });
    label.textContent = options.format(tick);
    grid.append(label);
  }
  for (const tick of niceTicks(xLow, xHigh, options.small ? 4 : 6)) {
    const x = xAt(tick);
    grid.append(svg("line", { x1: x, x2: x, y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight + 4 }));
    const label = svg("text", { x, y: HEIGHT - 10, class: "tick x" });
    label.textContent = formatX(tick);
    grid.append(label);
  }
  grid.append(svg("line", { class: "axis", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight }));
  chart.append(grid);

  finite.forEach((points, index) => {
    const className = `series series-${(series[index].colour ?? index) % 6}${series[index].dashed ? " dashed" : ""}`;
    if (points.length === 1) {
      chart.append(svg("circle", { class: className, cx: xAt(points[0][0]), cy: yAt(points[0][1]), r: 3 }));
      return;
    }
    const sorted = [...points].sort((a, b) => a[0] - b[0]);
    const path = sorted.map(([x, y], at) => `${at ? "L" : "M"}${xAt(x).toFixed(1)} ${yAt(y).toFixed(1)}`).join(" ");
    chart.append(svg("path", { class: className, d: path, "data-series": index }));
  });

  const cursor = svg("line", { class: "cursor", x1: 0, x2: 0, y1: MARGIN.top, y2: MARGIN.top + plotHeight, visibility: "hidden" });
  chart.append(cursor);
  const readout = el("p", { className: "chart-readout" });
  const xs = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b);
  chart.addEventListener("pointermove", (event) => {
    const box = chart.getBoundingClientRect();
    if (!box.width) return;
    const position = ((event.clientX - box.left) / box.width) * WIDTH;
    const wanted = xLow + ((position - MARGIN.left) / plotWidth) * (xHigh - xLow);
    const nearest = xs.reduce((best, x) => (Math.abs(x - wanted) < Math.abs(best - wanted) ? x : best), xs[0]);
    cursor.setAttribute("x1", String(xAt(nearest)));
    cursor.setAttribute("x2", String(xAt(nearest)));
    cursor.setAttribute("visibility", "visible");
    const values = finite
      .map((points, index) => {
        const found = points.find(([x]) => x === nearest);
        return found ? `${series[index].label} ${options.format(found[1])}` : "";
      })
      .filter(Boolean);
    readout.textContent = `${options.xLabel} ${formatX(nearest)}: ${values.join(" · ")}`;
  });
  chart.addEventListener("pointerleave", () => {
    cursor.setAttribute("visibility", "hidden");
    readout.textContent = "";
  });

  const legend = el(
    "ul",
    { className: "chart-legend" },
    ...series.map((one, index) =>
      el("li", { data: { series: index } }, el("span", { className: `swatch series-${(one.colour ?? index) % 6}${one.dashed ? " dashed" : ""}`, attrs: { "aria-hidden": "true" } }), one.label),
    ),
  );
  chart.setAttribute("aria-label", `${options.title}: ${series.map((one) => one.label).join(", ")}`);
  replaceChildren(figure, caption, chart, legend, readout, options.tableSummary ? valuesTable(series, finite, options, formatX) : null);
  return figure;
}
