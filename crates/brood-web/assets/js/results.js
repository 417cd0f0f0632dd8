// @ts-check
// A finished run's card: headline figures, "run again", its thresholds, its downloads, and the
// pick of another run to compare it with. Shown on the run's page and under the live view.
import { api, errorOf } from "./api.js";
import { h } from "./dom.js";
import { bytes, fmt, ms, when } from "./format.js";
import { cards, simpleTable } from "./widgets.js";

/**
 * The thresholds of a run's JSON summary, passed or failed; nothing without thresholds.
 * @param {import("./types.js").RunDetail} d
 */
async function thresholdsOf(d) {
  if (!d.artifacts.some((a) => a.name === "summary.json")) return null;
  const r = await api("GET", `/api/runs/${encodeURIComponent(d.id)}/artifacts/summary.json`);
  /** @type {{ passed: boolean, source: string, actual: number | null, unit: string }[]} */
  const results = r.data?.thresholds?.results || [];
  if (!results.length) return null;
  return [h("h2", {}, "Thresholds"), simpleTable(["", "Threshold", "Actual"], results.map((t) => [
    h("span", { class: t.passed ? "good-text" : "bad-text" }, t.passed ? "pass" : "FAIL"),
    t.source, t.actual === null ? "no data" : `${fmt(t.actual, 3)} ${t.unit === "fraction" ? "" : t.unit}`]), "", "left")];
}

/**
 * The results card of run `d`.
 * @param {import("./types.js").RunDetail} d
 */
export async function resultsCard(d) {
  /** @type {Partial<import("./types.js").Headline>} */
  const hl = d.headline || {};
  const thresholds = await thresholdsOf(d);
  const runs = await api("GET", "/api/runs?limit=50");
  /** @type {import("./types.js").RunSummary[]} */
  const others = (runs.data?.runs || []).filter((/** @type {import("./types.js").RunSummary} */ r) => r.id !== d.id && r.headline);
  const compareSel = h("select", { id: "compare-with" }, others.map((r) => h("option", { value: r.id }, `${r.id} — ${r.description || r.status}`)));
  return h("section", { class: "card", id: "results" },
    h("h1", {}, `Run ${d.id} `, h("span", { class: `badge ${d.status}` }, d.status)),
    h("p", { class: "muted" }, d.description || "", " · ", `${d.backend} backend`, " · regions ", d.regions.join(", "),
      " · started ", when(d.started_ms), d.ended_ms ? ` · ended ${when(d.ended_ms)}` : ""),
    d.note ? h("p", { class: "note" }, d.note) : null,
    cards([["requests", (hl.requests ?? 0).toLocaleString("en")], ["failures", (hl.failures ?? 0).toLocaleString("en")],
      ["req/s", fmt(hl.rps)], ["p50 ms", ms(hl.p50_ms)], ["p95 ms", ms(hl.p95_ms)], ["p99 ms", ms(hl.p99_ms)]]),
    h("div", { class: "actions left" },
      d.rerunnable ? h("button", { type: "button", id: "rerun-btn", onclick: async () => {
        const r = await api("POST", `/api/runs/${encodeURIComponent(d.id)}/rerun`);
        if (r.status === 201) location.hash = `#/runs/${r.data.id}`;
        else alert(errorOf(r));
      } }, "Run again") : null,
      d.rerunnable ? h("a", { class: "button secondary", href: `#/new?from=${encodeURIComponent(d.id)}` }, "Edit and run again") : null,
      d.artifacts.some((a) => a.name === "report.html")
        ? h("a", { class: "button secondary", id: "report-link", target: "_blank", rel: "noopener", href: `/api/runs/${encodeURIComponent(d.id)}/artifacts/report.html` }, "Open the HTML report") : null),
    thresholds,
    h("h2", {}, "Downloads"),
    d.artifacts.length ? h("ul", { class: "downloads", id: "downloads" }, d.artifacts.map((a) => h("li", {},
      h("a", { href: `/api/runs/${encodeURIComponent(d.id)}/artifacts/${a.name}?download=1`, download: `${d.id}_${a.name.replace("/", "_")}`, "data-name": a.name }, a.name),
      h("span", { class: "muted" }, ` ${a.label}, ${bytes(a.bytes)}`)))) : h("p", { class: "muted" }, "No files yet."),
    others.length ? h("div", { class: "compare-pick" }, h("h2", {}, "Compare"),
      compareSel, " ", h("button", { type: "button", class: "secondary", onclick: () => { location.hash = `#/compare/${compareSel.value}/${d.id}`; } }, "Compare with this run")) : null);
}
