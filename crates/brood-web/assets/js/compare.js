// @ts-check
// Two runs side by side, per endpoint: requests per second and percentiles of each, and B − A.
import { api } from "./api.js";
import { h, setNav } from "./dom.js";
import { fmt, ms } from "./format.js";
import { stopStream } from "./live.js";

/**
 * Shows the comparison of runs `a` and `b`.
 * @param {import("./types.js").App} app
 * @param {string} a
 * @param {string} b
 */
export async function renderCompare(app, a, b) {
  stopStream(app);
  setNav("nav-runs");
  const r = await api("GET", `/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  if (!r.ok) {
    app.main.replaceChildren(h("section", { class: "card" }, h("h1", {}, "Cannot compare"), h("p", {}, r.data?.error || "")));
    return;
  }
  /**
   * A difference, coloured by whether it is better.
   * @param {number | null | undefined} x
   * @param {boolean} lowerIsBetter
   */
  const diff = (x, lowerIsBetter) => {
    if (x === null || x === undefined) return h("td", {}, "–");
    const good = lowerIsBetter ? x < 0 : x > 0;
    return h("td", { class: x === 0 ? "" : good ? "good-text" : "bad-text" }, `${x > 0 ? "+" : ""}${fmt(x, 2)}`);
  };
  /** @typedef {"rps" | "p50_ms" | "p95_ms" | "p99_ms"} Metric */
  /**
   * @param {import("./types.js").Figures | null | undefined} f
   * @param {Metric} k
   */
  const cell = (f, k) => h("td", {}, f ? (k === "rps" ? fmt(f[k]) : ms(f[k])) : "–");
  /** @type {[Metric, string, boolean][]} */
  const metrics = [["rps", "req/s", false], ["p50_ms", "p50", true], ["p95_ms", "p95", true], ["p99_ms", "p99", true]];
  app.main.replaceChildren(h("section", { class: "card" },
    h("h1", {}, "Compare runs"),
    h("p", {}, "A: ", h("a", { href: `#/runs/${a}` }, a), " · B: ", h("a", { href: `#/runs/${b}` }, b), h("span", { class: "muted" }, " · differences are B − A")),
    h("table", { class: "grid-table", id: "compare-table" },
      h("thead", {},
        h("tr", {}, h("th", { rowspan: 2 }, "Type"), h("th", { rowspan: 2 }, "Name"), metrics.map(([, label]) => h("th", { colspan: 3 }, label))),
        h("tr", {}, metrics.map(() => [h("th", {}, "A"), h("th", {}, "B"), h("th", {}, "Δ")]))),
      h("tbody", {}, r.data.rows.map((/** @type {import("./types.js").CompareRow} */ row) => h("tr", { class: row.name === "Aggregated" && !row.method ? "total" : "" },
        h("td", {}, row.method), h("td", { class: "name" }, row.name),
        metrics.map(([k, , lower]) => [cell(row.a, k), cell(row.b, k), diff(row.diff ? row.diff[k] : null, lower)])))))));
}
