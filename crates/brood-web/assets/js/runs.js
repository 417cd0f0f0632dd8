// @ts-check
// The run history: every run with its status and headline figures; pick two to compare.
import { api } from "./api.js";
import { h, setNav } from "./dom.js";
import { fmt, ms, when } from "./format.js";
import { stopStream } from "./live.js";

/**
 * Shows the list of runs.
 * @param {import("./types.js").App} app
 */
export async function renderRuns(app) {
  stopStream(app);
  setNav("nav-runs");
  const r = await api("GET", "/api/runs?limit=200");
  /** @type {import("./types.js").RunSummary[]} */
  const runs = r.data?.runs || [];
  /** @type {Set<string>} */
  const picked = new Set();
  const compareBtn = h("button", { type: "button", id: "compare-btn", disabled: true, onclick: () => {
    const [a, b] = [...picked];
    location.hash = `#/compare/${a}/${b}`;
  } }, "Compare the two selected");
  const table = h("table", { class: "grid-table", id: "runs-table" },
    h("thead", {}, h("tr", {}, ["", "Run", "Started", "Status", "What", "Regions", "Requests", "Failures", "req/s", "p50 ms", "p95 ms", "p99 ms"].map((c) => h("th", {}, c)))),
    h("tbody", {}, runs.map((run) => {
      /** @type {Partial<import("./types.js").Headline>} */
      const hl = run.headline || {};
      const box = h("input", { type: "checkbox", "aria-label": `select ${run.id}`, onchange: (/** @type {Event} */ e) => {
        if (/** @type {HTMLInputElement} */ (e.target).checked) picked.add(run.id); else picked.delete(run.id);
        compareBtn.disabled = picked.size !== 2;
      } });
      return h("tr", {},
        h("td", {}, box), h("td", {}, h("a", { href: `#/runs/${run.id}` }, run.id)), h("td", {}, when(run.started_ms)),
        h("td", {}, h("span", { class: `badge ${run.status}` }, run.status)), h("td", { class: "name" }, run.description),
        h("td", {}, run.regions.join(", ")), h("td", {}, (hl.requests ?? 0).toLocaleString("en")),
        h("td", {}, (hl.failures ?? 0).toLocaleString("en")), h("td", {}, fmt(hl.rps)),
        h("td", {}, ms(hl.p50_ms)), h("td", {}, ms(hl.p95_ms)), h("td", {}, ms(hl.p99_ms)));
    })));
  app.main.replaceChildren(h("section", { class: "card" }, h("h1", {}, "Runs"),
    runs.length ? [table, h("div", { class: "actions left" }, compareBtn)] : h("p", { class: "muted" }, "No runs yet: start one from New test.")));
}
