// @ts-check
// Pieces the run views share: headline cards, tables and tab bars.
import { h } from "./dom.js";
import { fmt, ms } from "./format.js";

/**
 * A row of figures: [label, value, id of the value element].
 * @param {[string, import("./dom.js").Child, string?][]} items
 */
export function cards(items) {
  return h("div", { class: "cards" }, items.map(([label, value, id]) =>
    h("div", { class: "stat" }, h("div", { class: "stat-value", id }, value), h("div", { class: "stat-label" }, label))));
}

/**
 * Locust's statistics table, one row per endpoint and the total.
 * @param {import("./types.js").EntryRow[]} rows
 * @param {string} id
 */
export function statsTable(rows, id) {
  const head = ["Type", "Name", "# Requests", "# Fails", "Median (ms)", "95%ile (ms)", "99%ile (ms)",
    "Average (ms)", "Min (ms)", "Max (ms)", "Average size (bytes)", "Current RPS", "Current Failures/s"];
  return h("table", { class: "grid-table stats", id },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", { class: r.name === "Aggregated" && !r.method ? "total" : "" },
      h("td", {}, r.method), h("td", { class: "name" }, r.name), h("td", {}, r.requests.toLocaleString("en")),
      h("td", { class: r.failures ? "bad-text" : "" }, r.failures.toLocaleString("en")),
      h("td", {}, ms(r.median_ms)), h("td", {}, ms(r.p95_ms)), h("td", {}, ms(r.p99_ms)), h("td", {}, ms(r.avg_ms)),
      h("td", {}, ms(r.min_ms)), h("td", {}, ms(r.max_ms)), h("td", {}, fmt(r.avg_size, 0)),
      h("td", {}, fmt(r.current_rps)), h("td", {}, fmt(r.current_fps))))));
}

/**
 * A table of `rows` under `head`, or the `empty` text when there are no rows.
 * @param {string[]} head
 * @param {import("./dom.js").Child[][]} rows
 * @param {string} empty
 * @param {string} [cls]
 */
export function simpleTable(head, rows, empty, cls = "") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("table", { class: `grid-table ${cls}` },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

/**
 * A tab bar: entries are [key, label]; a click calls onPick with the key.
 * @param {string} id
 * @param {[string, string][]} entries
 * @param {string} active
 * @param {(key: string) => void} onPick
 */
export function tabs(id, entries, active, onPick) {
  return h("div", { class: "tabs", id, role: "tablist" }, entries.map(([key, label]) =>
    h("button", { type: "button", class: key === active ? "on" : "", "data-key": key, onclick: () => onPick(key) }, label)));
}
