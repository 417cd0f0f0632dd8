// @ts-check
// The live view of a run: headline figures, charts for all regions or one, and tabs for the
// statistics, failures, exceptions, workers and notes; updated by server-sent events, with the
// results card below once the run has ended.
import { api, errorOf } from "./api.js";
import { COLORS, REGION_COLORS, lineChart } from "./charts.js";
import { byId, h, setNav } from "./dom.js";
import { clock, fmt, ms, when } from "./format.js";
import { resultsCard } from "./results.js";
import { cards, simpleTable, statsTable, tabs } from "./widgets.js";

/**
 * Closes the live run's event stream, if one is open.
 * @param {import("./types.js").App} app
 */
export function stopStream(app) {
  if (app.stream) { app.stream.close(); app.stream = null; }
}

/**
 * The state after an update, which carries the newest points only: each view's series gets the
 * update's points newer than its last; everything else is the update's.
 * @param {import("./types.js").LiveState} state
 * @param {import("./types.js").LiveState} update
 * @returns {import("./types.js").LiveState}
 */
export function mergeUpdate(state, update) {
  /**
   * @param {{ series: import("./types.js").Point[] }} old
   * @param {import("./types.js").View} fresh
   */
  const append = (old, fresh) => {
    const last = old.series.length ? old.series[old.series.length - 1].t : -1;
    return { ...fresh, series: old.series.concat(fresh.series.filter((p) => p.t > last)) };
  };
  const regions = update.regions.map((v) => {
    const old = state.regions.find((o) => o.name === v.name) || { series: [] };
    return append(old, v);
  });
  return { ...update, all: append(state.all, update.all), regions };
}

/**
 * Shows run `id` live from `initial`, and follows its event stream until it ends.
 * @param {import("./types.js").App} app
 * @param {string} id
 * @param {import("./types.js").LiveState} initial
 * @param {import("./types.js").RunDetail | null} detail
 */
export function renderLive(app, id, initial, detail) {
  setNav("nav-live");
  const navLive = /** @type {HTMLAnchorElement} */ (byId("nav-live"));
  navLive.hidden = false;
  navLive.href = `#/runs/${id}`;
  let state = initial;
  let view = "all";
  let tab = "stats";
  // The heading and its buttons stay put (a click never lands on a redrawn button); the rest of
  // the card is redrawn with every update.
  const badge = h("span", { class: "badge", id: "run-state" });
  const stopBtn = h("button", { type: "button", id: "stop-btn", class: "danger", onclick: () => stop(false) }, "Stop");
  const abortBtn = h("button", { type: "button", id: "abort-btn", class: "secondary", onclick: () => stop(true) }, "Abort");
  const body = h("div", {});
  const root = h("section", { class: "card", id: "live" },
    h("div", { class: "live-head" }, h("h1", {}, `Run ${id} `, badge), h("div", { class: "actions" }, stopBtn, abortBtn)),
    body);
  const after = h("div", { id: "after" });
  app.main.replaceChildren(root, after);

  /** @param {boolean} abort */
  async function stop(abort) {
    const r = await api("POST", `/api/runs/${encodeURIComponent(id)}/stop`, { abort });
    if (!r.ok) alert(errorOf(r));
  }

  function draw() {
    const v = view === "all" ? state.all : state.regions.find((r) => r.name === view) || state.all;
    /** @type {Partial<import("./types.js").Point>} */
    const last = v.series[v.series.length - 1] || {};
    const t0 = state.start_at_ms ? state.start_at_ms / 1000 : (v.series[0]?.t ?? 0);
    /**
     * @param {"rps" | "fps" | "p50_ms" | "p95_ms" | "p99_ms" | "users" | "dropped"} key
     * @returns {import("./charts.js").ChartPoint[]}
     */
    const pts = (key) => v.series.map((p) => [p.t - t0, p[key]]);
    /** @type {Partial<import("./types.js").EntryRow>} */
    const agg = v.table.find((r) => r.name === "Aggregated" && !r.method) || {};
    const elapsed = state.start_at_ms ? (Date.now() - state.start_at_ms) / 1000 : 0;
    const running = !state.end;
    const regionsChart = lineChart("95th percentile by region", state.regions.map((r, i) => ({
      label: r.name, color: REGION_COLORS[i % REGION_COLORS.length], points: r.series.map((p) => /** @type {import("./charts.js").ChartPoint} */ ([p.t - t0, p.p95_ms])) })), "ms");
    /** @type {Record<string, () => Node>} */
    const tabBody = {
      stats: () => statsTable(v.table, "stats-table"),
      failures: () => simpleTable(["Method", "Name", "Error", "Occurrences"],
        state.failures.map((f) => [f.method, f.name, f.error, f.occurrences.toLocaleString("en")]), "No failures."),
      exceptions: () => simpleTable(["Count", "Message", "Traceback", "Workers"],
        state.exceptions.map((e) => [e.count, e.message, h("pre", {}, e.traceback), e.nodes.join(", ")]), "No exceptions."),
      workers: () => simpleTable(["Region", "Worker", "State", "Last heartbeat", "CPU", "Users", "Requests", "Failures"],
        state.workers.map((w) => [w.region, w.worker, w.state,
          w.last_heartbeat_ms ? `${Math.max(0, (Date.now() - w.last_heartbeat_ms) / 1000).toFixed(1)} s ago` : "–",
          w.cpu_percent === null || w.cpu_percent === undefined ? "–" : `${w.cpu_percent.toFixed(1)}%`,
          w.users, w.requests.toLocaleString("en"), w.failures.toLocaleString("en")]), "No worker has reported yet."),
      notes: () => h("div", {},
        state.verdicts.length ? h("ul", { class: "verdicts" }, state.verdicts.map((t) => h("li", {}, t))) : null,
        simpleTable(["Time", "Note"], state.notes.slice().reverse().map((n) => [when(n.at_ms), n.text]), "Nothing to report.")),
    };
    badge.className = `badge ${state.end ? state.end.split(":")[0] : state.state}`;
    badge.textContent = state.end ? state.end : state.state;
    stopBtn.hidden = !running;
    abortBtn.hidden = !running;
    body.replaceChildren(
      h("p", { class: "muted" }, detail ? `${detail.description} · regions ${detail.regions.join(", ")} · ` : "",
        state.start_at_ms ? `elapsed ${clock(state.end ? (last.t || 0) - t0 : elapsed)}` : "waiting for workers",
        state.run_time_s ? ` of ${clock(state.run_time_s)}` : ""),
      provisioningTable(state),
      tabs("views", [["all", "All regions"], ...state.regions.map((r) => /** @type {[string, string]} */ ([r.name, r.name]))], view, (k) => { view = k; draw(); }),
      cards([["req/s", fmt(last.rps), "card-rps"], ["failures/s", fmt(last.fps), "card-fps"],
        ["p50 ms", ms(last.p50_ms)], ["p95 ms", ms(last.p95_ms)], ["p99 ms", ms(last.p99_ms)],
        ["users", last.users ?? 0, "card-users"], ["requests", (agg.requests ?? 0).toLocaleString("en"), "card-requests"],
        ["failures", (agg.failures ?? 0).toLocaleString("en")]]),
      h("div", { class: "charts", id: "charts" },
        lineChart("Requests and failures per second", [
          { label: "requests/s", color: COLORS.rps, points: pts("rps") },
          { label: "failures/s", color: COLORS.fps, points: pts("fps") }], "per second"),
        lineChart("Response times (last 10 s)", [
          { label: "p50", color: COLORS.p50, points: pts("p50_ms") },
          { label: "p95", color: COLORS.p95, points: pts("p95_ms") },
          { label: "p99", color: COLORS.p99, points: pts("p99_ms") }], "ms"),
        lineChart("Users and dropped arrivals", [
          { label: "users", color: COLORS.users, points: pts("users") },
          { label: "dropped arrivals", color: COLORS.dropped, points: pts("dropped") }], "count"),
        regionsChart),
      tabs("detail-tabs", [["stats", "Statistics"], ["failures", `Failures (${state.failures.length})`],
        ["exceptions", `Exceptions (${state.exceptions.length})`], ["workers", `Workers (${state.workers.length})`], ["notes", "Notes"]],
        tab, (k) => { tab = k; draw(); }),
      h("div", { class: "tab-body", id: `tab-${tab}` }, tabBody[tab]()));
  }

  async function ended() {
    const d = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
    if (d.ok) after.replaceChildren(await resultsCard(d.data));
  }

  draw();
  if (state.end) { ended(); return; }
  const stream = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
  app.stream = stream;
  stream.addEventListener("full", (e) => {
    state = JSON.parse(e.data);
    draw();
    // A stream that opens on a finished run closes at once; do not let the browser reconnect.
    if (state.end) { stopStream(app); ended(); }
  });
  stream.addEventListener("update", (e) => {
    state = mergeUpdate(state, JSON.parse(e.data));
    draw();
    if (state.end) { stopStream(app); ended(); }
  });
  stream.onerror = () => {
    if (state.end) stopStream(app);
  };
}

/**
 * Each region's fleet until the load starts: asked for, starting, in service, ready (workers
 * that reported), exited. Nothing once the load has started.
 * @param {import("./types.js").LiveState} state
 * @returns {Node}
 */
export function provisioningTable(state) {
  const rows = state.provisioning || [];
  if (state.start_at_ms || state.end || !rows.length) return h("div", { id: "provisioning", hidden: true });
  return h("div", { id: "provisioning" },
    h("h2", {}, "Provisioning"),
    simpleTable(["Region", "Requested", "Starting", "In service", "Ready", "Exited"],
      rows.map((r) => [r.region, r.requested, r.starting, r.in_service,
        state.workers.filter((w) => w.region === r.region).length, r.exited]), ""));
}
