// @ts-check
// Line charts as inline SVG. The scaling (value range, axis ticks and their labels, the path of a
// line) is pure and tested by crates/brood-web/web-tests/charts.test.mjs; lineChart() draws.
import { h, s } from "./dom.js";
import { clock, fmt } from "./format.js";

export const COLORS = {
  rps: "#1f9d55", fps: "#d64545", p50: "#2b6cb0", p95: "#dd8a1e", p99: "#c53030",
  users: "#2b6cb0", dropped: "#805ad5",
};
export const REGION_COLORS = ["#2b6cb0", "#dd8a1e", "#1f9d55", "#c53030", "#805ad5", "#319795", "#b83280", "#718096"];

/** The chart's size and margins in SVG units. */
export const BOX = { W: 560, H: 210, L: 52, R: 12, T: 14, B: 26 };

/**
 * A point of a line: seconds from the start of the run, and a value (null for a gap).
 * @typedef {[number, number | null | undefined]} ChartPoint
 */

/** @typedef {{ label: string, color: string, points: ChartPoint[] }} Line */

/**
 * The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is at least `v`; 1 when `v` is
 * not above zero.
 * @param {number} v
 */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * The ranges a chart of `lines` covers: time from the first point to the last (at least 10 s),
 * and values from 0 to a nice maximum.
 * @param {Line[]} lines
 * @returns {{ t0: number, t1: number, vmax: number }}
 */
export function chartRange(lines) {
  const all = lines.flatMap((l) => l.points);
  const ts = all.map((p) => p[0]);
  const t0 = ts.length ? Math.min(...ts) : 0;
  const t1 = Math.max(t0 + 10, ts.length ? Math.max(...ts) : 10);
  const vmax = niceMax(Math.max(0, ...all.map((p) => p[1] ?? 0)));
  return { t0, t1, vmax };
}

/**
 * The value axis: five ticks from 0 to `vmax`, labelled.
 * @param {number} vmax
 * @returns {{ v: number, label: string }[]}
 */
export function valueTicks(vmax) {
  const ticks = [];
  for (let i = 0; i <= 4; i++) {
    const v = (vmax * i) / 4;
    const label = Number.isInteger(v) ? v.toLocaleString("en") : fmt(v, vmax < 5 ? 2 : 1);
    ticks.push({ v, label });
  }
  return ticks;
}

/**
 * The time axis: about six ticks, a whole number of 10 s apart (1 s at least), as m:ss from
 * `t0`; `t` is the tick's offset from `t0`.
 * @param {number} t0
 * @param {number} t1
 * @returns {{ t: number, label: string }[]}
 */
export function timeTicks(t0, t1) {
  const ticks = [];
  const step = Math.max(1, Math.ceil((t1 - t0) / 6 / 10) * 10);
  for (let t = 0; t <= t1 - t0; t += step) ticks.push({ t, label: clock(t) });
  return ticks;
}

/**
 * Maps time and value to SVG coordinates for the ranges of chartRange().
 * @param {{ t0: number, t1: number, vmax: number }} range
 */
export function scales({ t0, t1, vmax }) {
  const { W, H, L, R, T, B } = BOX;
  return {
    /** @param {number} t */
    x: (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R),
    /** @param {number} v */
    y: (v) => T + (1 - v / vmax) * (H - T - B),
  };
}

/**
 * A line's SVG path: a move at the start and after every gap, a line to each other point.
 * @param {ChartPoint[]} points
 * @param {(t: number) => number} x
 * @param {(v: number) => number} y
 */
export function linePath(points, x, y) {
  let d = "";
  let pen = false;
  for (const [t, v] of points) {
    if (v === null || v === undefined) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/**
 * A line chart as inline SVG, in a figure with its caption and legend. lines: [{label, color,
 * points: [[t, value|null]]}]; t in seconds from the start of the run.
 * @param {string} title
 * @param {Line[]} lines
 * @param {string} [unit]
 */
export function lineChart(title, lines, unit) {
  const { W, H, L, R } = BOX;
  const range = chartRange(lines);
  const { t0, t1, vmax } = range;
  const { x, y } = scales(range);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  for (const { v, label } of valueTicks(vmax)) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(s("text", { x: L - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, label));
  }
  for (const { t, label } of timeTicks(t0, t1)) {
    svg.append(s("text", { x: x(t0 + t), y: H - 8, class: "tick", "text-anchor": "middle" }, label));
  }
  for (const line of lines) {
    const d = linePath(line.points, x, y);
    if (d) svg.append(s("path", { d, stroke: line.color, class: "line" }));
    // The newest value gets a dot, so a line of one point (or one after a gap) still shows.
    const last = line.points.filter((p) => p[1] !== null && p[1] !== undefined).pop();
    if (last) svg.append(s("circle", { cx: x(last[0]), cy: y(/** @type {number} */ (last[1])), r: 2.5, fill: line.color }));
  }
  const legend = h("div", { class: "legend" },
    lines.map((l) => h("span", {}, h("i", { style: `background:${l.color}` }), l.label)));
  return h("figure", { class: "chart-box" },
    h("figcaption", {}, title, unit ? h("span", { class: "muted" }, ` (${unit})`) : null),
    svg, legend);
}
