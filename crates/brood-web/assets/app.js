// brood's web page: the new-test form, the live run view (SVG charts drawn here, updates pushed
// by server-sent events), the run history, a run's downloads and the comparison of two runs.
// Plain JavaScript with no dependencies; every request goes to the JSON API under /api/.
"use strict";

const CSRF = document.querySelector('meta[name="csrf"]').content;
const main = document.getElementById("main");
let config = null;
let stream = null;

// ---------- small helpers ----------

/** Creates an element: h("div", {class: "x"}, "text", child, …). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") init.headers["X-CSRF-Token"] = CSRF;
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  return { ok: response.ok, status: response.status, data };
}

function fmt(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en");
  return Number(x).toFixed(digits);
}
const ms = (x) => (x === null || x === undefined ? "–" : fmt(x, x < 10 ? 2 : 1));
const when = (unixMs) => (unixMs ? new Date(unixMs).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");
function clock(secs) {
  secs = Math.max(0, Math.round(secs));
  const m = Math.floor(secs / 60), r = secs % 60;
  return `${m}:${String(r).padStart(2, "0")}`;
}
function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function setNav(active) {
  for (const id of ["nav-new", "nav-runs", "nav-live"]) {
    document.getElementById(id).classList.toggle("active", id === active);
  }
}

function stopStream() {
  if (stream) { stream.close(); stream = null; }
}

// ---------- charts ----------

const COLORS = {
  rps: "#1f9d55", fps: "#d64545", p50: "#2b6cb0", p95: "#dd8a1e", p99: "#c53030",
  users: "#2b6cb0", dropped: "#805ad5",
};
const REGION_COLORS = ["#2b6cb0", "#dd8a1e", "#1f9d55", "#c53030", "#805ad5", "#319795", "#b83280", "#718096"];

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * A line chart as inline SVG. lines: [{label, color, points: [[t, value|null]]}]; t in seconds
 * from the start of the run.
 */
function lineChart(title, lines, unit) {
  const W = 560, H = 210, L = 52, R = 12, T = 14, B = 26;
  const all = lines.flatMap((l) => l.points);
  const ts = all.map((p) => p[0]);
  const t0 = ts.length ? Math.min(...ts) : 0;
  const t1 = Math.max(t0 + 10, ts.length ? Math.max(...ts) : 10);
  const vmax = niceMax(Math.max(0, ...all.map((p) => p[1] ?? 0)));
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / vmax) * (H - T - B);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title });
  for (let i = 0; i <= 4; i++) {
    const v = (vmax * i) / 4;
    svg.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    const label = Number.isInteger(v) ? v.toLocaleString("en") : fmt(v, vmax < 5 ? 2 : 1);
    svg.append(s("text", { x: L - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, label));
  }
  const step = Math.max(1, Math.ceil((t1 - t0) / 6 / 10) * 10);
  for (let t = 0; t <= t1 - t0; t += step) {
    svg.append(s("text", { x: x(t0 + t), y: H - 8, class: "tick", "text-anchor": "middle" }, clock(t)));
  }
  for (const line of lines) {
    let d = "";
    let pen = false;
    for (const [t, v] of line.points) {
      if (v === null || v === undefined) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    if (d) svg.append(s("path", { d, stroke: line.color, class: "line" }));
    // The newest value gets a dot, so a line of one point (or one after a gap) still shows.
    const last = line.points.filter((p) => p[1] !== null && p[1] !== undefined).pop();
    if (last) svg.append(s("circle", { cx: x(last[0]), cy: y(last[1]), r: 2.5, fill: line.color }));
  }
  const legend = h("div", { class: "legend" },
    lines.map((l) => h("span", {}, h("i", { style: `background:${l.color}` }), l.label)));
  return h("figure", { class: "chart-box" },
    h("figcaption", {}, title, unit ? h("span", { class: "muted" }, ` (${unit})`) : null),
    svg, legend);
}

// ---------- the new-test form ----------

const FIELDS = ["url", "scenario", "scenario_format", "host", "shape", "users", "spawn_rate",
  "run_time", "stages", "arrival_rate", "max_users", "thresholds", "abort_on_fail", "backend",
  "regions", "workers", "region_latency", "deployment", "instance_type", "max_instances", "max_cost",
  "spot"];

function field(name, label, input, help) {
  return h("div", { class: "field", id: `field-${name}` },
    h("label", { for: `f-${name}` }, label),
    input,
    help ? h("small", { class: "help" }, help) : null,
    h("div", { class: "error", id: `e-${name}`, role: "alert" }));
}

const text = (name, attrs = {}) => h("input", { id: `f-${name}`, name, type: "text", autocomplete: "off", ...attrs });

function readForm(mode) {
  const req = {};
  for (const name of FIELDS) {
    const el = document.getElementById(`f-${name}`);
    if (!el) continue;
    req[name] = el.type === "checkbox" ? el.checked : el.value;
  }
  if (mode() === "quick") { req.scenario = ""; req.host = ""; } else { req.url = ""; }
  // Each backend's own fields go only with it (their boxes are hidden for the others).
  if (req.backend !== "local") req.region_latency = "";
  if (req.backend !== "aws") {
    for (const name of ["deployment", "instance_type", "max_instances", "max_cost"]) req[name] = "";
    req.spot = false;
  }
  return req;
}

function showErrors(errors) {
  for (const el of document.querySelectorAll(".field .error")) el.textContent = "";
  for (const el of document.querySelectorAll(".field.bad")) el.classList.remove("bad");
  const general = document.getElementById("form-error");
  general.textContent = "";
  for (const e of errors || []) {
    const slot = document.getElementById(`e-${e.field}`);
    const where = e.line ? `line ${e.line}, column ${e.column}: ` : "";
    if (slot) {
      slot.textContent = where + e.message;
      slot.closest(".field").classList.add("bad");
      if (e.field === "scenario" && e.line) markLine(e.line);
    } else {
      general.textContent += `${e.field}: ${e.message} `;
    }
  }
}

/** Shows the scenario line an error points at in the gutter. */
function markLine(line) {
  const gutter = document.getElementById("gutter");
  if (!gutter) return;
  for (const el of gutter.children) el.classList.toggle("bad-line", Number(el.textContent) === line);
}

function updateGutter() {
  const area = document.getElementById("f-scenario");
  const gutter = document.getElementById("gutter");
  const lines = area.value.split("\n").length;
  if (gutter.children.length !== lines) {
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => h("div", {}, i + 1)));
  }
  gutter.scrollTop = area.scrollTop;
}

const SCENARIO_EXAMPLE = `# Relative URLs go to the host above (the demo shop when brood serve --demo-target).
users:
  - name: shopper
    weight: 5
    wait: between(0.5s, 1.5s)
    tasks:
      - name: home
        weight: 2
        request: { url: /shop/, name: /shop/ }
      - name: browse
        weight: 4
        requests:
          - { url: /shop/api/products, query: { page: 2 }, name: /shop/api/products }
          - { url: "/shop/api/products/42", name: "/shop/api/products/[id]" }
      - name: search
        weight: 3
        request: { url: /shop/api/search, query: { q: lamp }, name: /shop/api/search }
  - name: monitor
    weight: 1
    wait: constant(2s)
    tasks:
      - get: /shop/health
`;

async function renderNew(fromRun) {
  stopStream();
  setNav("nav-new");
  let values = { ...config.defaults };
  if (fromRun) {
    const r = await api("GET", `/api/runs/${encodeURIComponent(fromRun)}/request`);
    if (r.ok) values = { ...values, ...r.data };
  }
  let mode = values.scenario && values.scenario.trim() ? "scenario" : "quick";
  const modeOf = () => mode;

  const backends = h("select", { id: "f-backend", name: "backend" },
    config.backends.map((b) => h("option", { value: b.name }, b.label)));
  const shape = h("select", { id: "f-shape", name: "shape" },
    h("option", { value: "closed" }, "Closed: users and spawn rate"),
    h("option", { value: "stages" }, "Stages: users (or arrivals) ramped over time"),
    h("option", { value: "arrival" }, "Arrival rate: open model"));
  const scenario = h("textarea", { id: "f-scenario", name: "scenario", rows: 18, spellcheck: "false", wrap: "off" });
  const editor = h("div", { class: "editor" }, h("div", { class: "gutter", id: "gutter" }), scenario);
  const format = h("select", { id: "f-scenario_format", name: "scenario_format" },
    h("option", { value: "yaml" }, "YAML"), h("option", { value: "toml" }, "TOML"));
  const upload = h("input", { type: "file", id: "f-upload", accept: ".yaml,.yml,.toml" });

  const quickBox = h("div", { class: "mode-box", id: "quick-box" },
    field("url", "Target URL", text("url", { placeholder: "https://staging.example.com/" }),
      "Quick mode: every user sends GET to this URL."));
  const scenarioBox = h("div", { class: "mode-box", id: "scenario-box" },
    h("div", { class: "row" },
      field("host", "Host", text("host", { placeholder: "https://staging.example.com" }), "Where relative URLs go (--host)."),
      field("scenario_format", "Format", format),
      h("div", { class: "field" }, h("label", { for: "f-upload" }, "Upload a file"), upload)),
    field("scenario", "Scenario", editor, "Checked as you type; errors point at the line."));

  const modeSwitch = h("div", { class: "modes", role: "tablist" },
    h("button", { type: "button", id: "mode-quick", onclick: () => setMode("quick") }, "Target URL"),
    h("button", { type: "button", id: "mode-scenario", onclick: () => setMode("scenario") }, "Scenario"));

  const closedBox = h("div", { class: "row shape-box", id: "shape-closed" },
    field("users", "Users", text("users", { inputmode: "numeric" }), "Peak concurrent users."),
    field("spawn_rate", "Spawn rate", text("spawn_rate"), "Users started per second."));
  const stagesBox = h("div", { class: "row shape-box", id: "shape-stages" },
    field("stages", "Stages", text("stages", { placeholder: "30s:100,1m:100,30s:0" }),
      "duration:users, or duration:rate/s for arrivals."));
  const arrivalBox = h("div", { class: "row shape-box", id: "shape-arrival" },
    field("arrival_rate", "Arrivals per second", text("arrival_rate")),
    field("max_users", "Max users", text("max_users"), "Arrivals beyond these are dropped and counted."));

  const localBox = h("div", { class: "backend-box", id: "backend-local" },
    field("region_latency", "Added latency per region (local backend)", text("region_latency", { placeholder: "local-b:80ms" })));
  const awsBox = h("div", { class: "backend-box", id: "backend-aws" },
    h("div", { class: "row" },
      field("deployment", "Deployment", text("deployment", { placeholder: "default" }), "Set up by brood aws setup (or at the first run)."),
      field("instance_type", "Instance type", text("instance_type", { placeholder: "t3.small" })),
      field("max_instances", "Max instances", text("max_instances", { inputmode: "numeric", placeholder: "20" }), "Over all regions; a larger fleet is refused."),
      field("max_cost", "Max cost (USD)", text("max_cost", { placeholder: "no cap" }), "Refuse to start above the estimate.")),
    h("label", { class: "check" }, h("input", { type: "checkbox", id: "f-spot" }), " Spot instances"),
    h("p", { class: "muted" }, "Leave workers per region empty to size each region's fleet from its share of the load; Preview shows the instances and the estimated cost."));
  const preview = h("div", { id: "preview", class: "preview" });
  const form = h("form", { id: "new-test", class: "card", novalidate: true },
    h("h1", {}, "New test"),
    config.demo_target ? h("p", { class: "muted" }, `The demo target runs at ${config.demo_target}; the form is aimed at it.`) : null,
    modeSwitch, quickBox, scenarioBox,
    h("h2", {}, "Load"),
    h("div", { class: "row" }, field("shape", "Load shape", shape), field("run_time", "Run time", text("run_time", { placeholder: "60s" }), "e.g. 30s, 5m, 1h30m; empty: until stopped.")),
    closedBox, stagesBox, arrivalBox,
    h("h2", {}, "Thresholds"),
    field("thresholds", "One per line", h("textarea", { id: "f-thresholds", name: "thresholds", rows: 3, placeholder: "p95 < 500ms\nfailure_rate < 1%" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", id: "f-abort_on_fail" }), " Stop the run as soon as a threshold fails"),
    h("h2", {}, "Where from"),
    h("div", { class: "row" },
      field("backend", "Backend", backends),
      field("regions", "Regions", text("regions"), "name or name:weight, comma-separated."),
      field("workers", "Workers per region", text("workers"), "a number, or region=count, comma-separated.")),
    localBox, awsBox,
    h("div", { class: "error", id: "form-error", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "preview-btn", class: "secondary", onclick: () => doPreview() }, "Preview"),
      h("button", { type: "submit", id: "start-btn" }, "Start")),
    preview);
  main.replaceChildren(form);

  for (const name of FIELDS) {
    const el = document.getElementById(`f-${name}`);
    if (!el) continue;
    if (el.type === "checkbox") el.checked = !!values[name];
    else if (values[name] !== undefined && values[name] !== "") el.value = values[name];
  }
  if (!scenario.value) scenario.value = SCENARIO_EXAMPLE;
  if (!shape.value) shape.value = "closed";

  function setMode(m) {
    mode = m;
    quickBox.hidden = m !== "quick";
    scenarioBox.hidden = m !== "scenario";
    document.getElementById("mode-quick").classList.toggle("on", m === "quick");
    document.getElementById("mode-scenario").classList.toggle("on", m === "scenario");
    if (m === "scenario") updateGutter();
  }
  function setShape() {
    closedBox.hidden = shape.value !== "closed";
    stagesBox.hidden = shape.value !== "stages";
    arrivalBox.hidden = shape.value !== "arrival";
  }
  shape.addEventListener("change", setShape);
  function setBackend() {
    localBox.hidden = backends.value !== "local";
    awsBox.hidden = backends.value !== "aws";
  }
  backends.addEventListener("change", () => {
    const info = config.backends.find((b) => b.name === backends.value);
    if (info) document.getElementById("f-regions").value = info.regions;
    setBackend();
  });
  setMode(mode);
  setShape();
  setBackend();

  let timer = null;
  scenario.addEventListener("input", () => {
    updateGutter();
    clearTimeout(timer);
    timer = setTimeout(() => doPreview(true), 600);
  });
  scenario.addEventListener("scroll", updateGutter);
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    if (!file) return;
    scenario.value = await file.text();
    format.value = file.name.endsWith(".toml") ? "toml" : "yaml";
    updateGutter();
    doPreview(true);
  });

  async function doPreview(quiet) {
    const r = await api("POST", "/api/preview", readForm(modeOf));
    if (r.status === 422) {
      showErrors(r.data.errors);
      if (!quiet) preview.replaceChildren();
      return;
    }
    showErrors([]);
    if (!r.ok) { document.getElementById("form-error").textContent = r.data?.error || `error ${r.status}`; return; }
    if (quiet) return;
    const p = r.data;
    preview.replaceChildren(
      h("h2", {}, "Preview"),
      h("table", { class: "grid-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Region"), h("th", {}, "Share"), h("th", {}, "Workers"), h("th", {}, "Instances"), h("th", {}, "Runs on"))),
        h("tbody", {}, p.regions.map((g) => h("tr", {},
          h("td", {}, g.name), h("td", {}, `${(g.share * 100).toFixed(1)}%`), h("td", {}, g.workers), h("td", {}, g.instances), h("td", {}, g.instance_type))))),
      h("p", {}, h("strong", {}, `Estimated cost: $${p.cost_usd.toFixed(2)}`), " — ", p.cost_note),
      h("pre", { class: "plan" }, p.plan.join("\n")));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("start-btn");
    button.disabled = true;
    button.textContent = "Starting…";
    const r = await api("POST", "/api/runs", readForm(modeOf));
    button.disabled = false;
    button.textContent = "Start";
    if (r.status === 201) { location.hash = `#/runs/${r.data.id}`; return; }
    if (r.status === 422) { showErrors(r.data.errors); return; }
    showErrors([]);
    document.getElementById("form-error").textContent = r.data?.error || `error ${r.status}`;
  });
}

// ---------- a run: live view or results ----------

function cards(items) {
  return h("div", { class: "cards" }, items.map(([label, value, id]) =>
    h("div", { class: "stat" }, h("div", { class: "stat-value", id }, value), h("div", { class: "stat-label" }, label))));
}

function statsTable(rows, id) {
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

function simpleTable(head, rows, empty, cls = "") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("table", { class: `grid-table ${cls}` },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

function tabs(id, entries, active, onPick) {
  return h("div", { class: "tabs", id, role: "tablist" }, entries.map(([key, label]) =>
    h("button", { type: "button", class: key === active ? "on" : "", "data-key": key, onclick: () => onPick(key) }, label)));
}

function mergeUpdate(state, update) {
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

async function renderRun(id) {
  stopStream();
  const detail = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
  const live = await api("GET", `/api/runs/${encodeURIComponent(id)}/live`);
  if (live.ok) return renderLive(id, live.data, detail.ok ? detail.data : null);
  if (!detail.ok) {
    main.replaceChildren(h("div", { class: "card" }, h("h1", {}, "Run not found"), h("p", {}, detail.data?.error || "")));
    return;
  }
  setNav("nav-runs");
  main.replaceChildren(await resultsCard(detail.data));
}

/** The thresholds of a run's JSON summary, passed or failed; nothing without thresholds. */
async function thresholdsOf(d) {
  if (!d.artifacts.some((a) => a.name === "summary.json")) return null;
  const r = await api("GET", `/api/runs/${encodeURIComponent(d.id)}/artifacts/summary.json`);
  const results = r.data?.thresholds?.results || [];
  if (!results.length) return null;
  return [h("h2", {}, "Thresholds"), simpleTable(["", "Threshold", "Actual"], results.map((t) => [
    h("span", { class: t.passed ? "good-text" : "bad-text" }, t.passed ? "pass" : "FAIL"),
    t.source, t.actual === null ? "no data" : `${fmt(t.actual, 3)} ${t.unit === "fraction" ? "" : t.unit}`]), "", "left")];
}

async function resultsCard(d) {
  const hl = d.headline || {};
  const thresholds = await thresholdsOf(d);
  const runs = await api("GET", "/api/runs?limit=50");
  const others = (runs.data?.runs || []).filter((r) => r.id !== d.id && r.headline);
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
        else alert(r.data?.error || `error ${r.status}`);
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

function renderLive(id, initial, detail) {
  setNav("nav-live");
  const navLive = document.getElementById("nav-live");
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
  main.replaceChildren(root, after);

  async function stop(abort) {
    const r = await api("POST", `/api/runs/${encodeURIComponent(id)}/stop`, { abort });
    if (!r.ok) alert(r.data?.error || `error ${r.status}`);
  }

  function draw() {
    const v = view === "all" ? state.all : state.regions.find((r) => r.name === view) || state.all;
    const last = v.series[v.series.length - 1] || {};
    const t0 = state.start_at_ms ? state.start_at_ms / 1000 : (v.series[0]?.t ?? 0);
    const pts = (key) => v.series.map((p) => [p.t - t0, p[key]]);
    const agg = v.table.find((r) => r.name === "Aggregated" && !r.method) || {};
    const elapsed = state.start_at_ms ? (Date.now() - state.start_at_ms) / 1000 : 0;
    const running = !state.end;
    const regionsChart = lineChart("95th percentile by region", state.regions.map((r, i) => ({
      label: r.name, color: REGION_COLORS[i % REGION_COLORS.length], points: r.series.map((p) => [p.t - t0, p.p95_ms]) })), "ms");
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
      tabs("views", [["all", "All regions"], ...state.regions.map((r) => [r.name, r.name])], view, (k) => { view = k; draw(); }),
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
  stream = new EventSource(`/api/runs/${encodeURIComponent(id)}/events`);
  stream.addEventListener("full", (e) => {
    state = JSON.parse(e.data);
    draw();
    // A stream that opens on a finished run closes at once; do not let the browser reconnect.
    if (state.end) { stopStream(); ended(); }
  });
  stream.addEventListener("update", (e) => {
    state = mergeUpdate(state, JSON.parse(e.data));
    draw();
    if (state.end) { stopStream(); ended(); }
  });
  stream.onerror = () => {
    if (state.end) stopStream();
  };
}

// ---------- history and comparison ----------

async function renderRuns() {
  stopStream();
  setNav("nav-runs");
  const r = await api("GET", "/api/runs?limit=200");
  const runs = r.data?.runs || [];
  const picked = new Set();
  const compareBtn = h("button", { type: "button", id: "compare-btn", disabled: true, onclick: () => {
    const [a, b] = [...picked];
    location.hash = `#/compare/${a}/${b}`;
  } }, "Compare the two selected");
  const table = h("table", { class: "grid-table", id: "runs-table" },
    h("thead", {}, h("tr", {}, ["", "Run", "Started", "Status", "What", "Regions", "Requests", "Failures", "req/s", "p50 ms", "p95 ms", "p99 ms"].map((c) => h("th", {}, c)))),
    h("tbody", {}, runs.map((run) => {
      const hl = run.headline || {};
      const box = h("input", { type: "checkbox", "aria-label": `select ${run.id}`, onchange: (e) => {
        if (e.target.checked) picked.add(run.id); else picked.delete(run.id);
        compareBtn.disabled = picked.size !== 2;
      } });
      return h("tr", {},
        h("td", {}, box), h("td", {}, h("a", { href: `#/runs/${run.id}` }, run.id)), h("td", {}, when(run.started_ms)),
        h("td", {}, h("span", { class: `badge ${run.status}` }, run.status)), h("td", { class: "name" }, run.description),
        h("td", {}, run.regions.join(", ")), h("td", {}, (hl.requests ?? 0).toLocaleString("en")),
        h("td", {}, (hl.failures ?? 0).toLocaleString("en")), h("td", {}, fmt(hl.rps)),
        h("td", {}, ms(hl.p50_ms)), h("td", {}, ms(hl.p95_ms)), h("td", {}, ms(hl.p99_ms)));
    })));
  main.replaceChildren(h("section", { class: "card" }, h("h1", {}, "Runs"),
    runs.length ? [table, h("div", { class: "actions left" }, compareBtn)] : h("p", { class: "muted" }, "No runs yet: start one from New test.")));
}

async function renderCompare(a, b) {
  stopStream();
  setNav("nav-runs");
  const r = await api("GET", `/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  if (!r.ok) {
    main.replaceChildren(h("section", { class: "card" }, h("h1", {}, "Cannot compare"), h("p", {}, r.data?.error || "")));
    return;
  }
  const diff = (x, lowerIsBetter) => {
    if (x === null || x === undefined) return h("td", {}, "–");
    const good = lowerIsBetter ? x < 0 : x > 0;
    return h("td", { class: x === 0 ? "" : good ? "good-text" : "bad-text" }, `${x > 0 ? "+" : ""}${fmt(x, 2)}`);
  };
  const cell = (f, k) => h("td", {}, f ? (k === "rps" ? fmt(f[k]) : ms(f[k])) : "–");
  const metrics = [["rps", "req/s", false], ["p50_ms", "p50", true], ["p95_ms", "p95", true], ["p99_ms", "p99", true]];
  main.replaceChildren(h("section", { class: "card" },
    h("h1", {}, "Compare runs"),
    h("p", {}, "A: ", h("a", { href: `#/runs/${a}` }, a), " · B: ", h("a", { href: `#/runs/${b}` }, b), h("span", { class: "muted" }, " · differences are B − A")),
    h("table", { class: "grid-table", id: "compare-table" },
      h("thead", {},
        h("tr", {}, h("th", { rowspan: 2 }, "Type"), h("th", { rowspan: 2 }, "Name"), metrics.map(([, label]) => h("th", { colspan: 3 }, label))),
        h("tr", {}, metrics.map(() => [h("th", {}, "A"), h("th", {}, "B"), h("th", {}, "Δ")]))),
      h("tbody", {}, r.data.rows.map((row) => h("tr", { class: row.name === "Aggregated" && !row.method ? "total" : "" },
        h("td", {}, row.method), h("td", { class: "name" }, row.name),
        metrics.map(([k, , lower]) => [cell(row.a, k), cell(row.b, k), diff(row.diff ? row.diff[k] : null, lower)])))))));
}

// ---------- routing ----------

async function route() {
  const hash = location.hash || "#/new";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "runs" && parts[1]) await renderRun(parts[1]);
    else if (parts[0] === "runs") await renderRuns();
    else if (parts[0] === "compare" && parts[2]) await renderCompare(parts[1], parts[2]);
    else await renderNew(new URLSearchParams(query || "").get("from"));
  } catch (e) {
    main.replaceChildren(h("section", { class: "card" }, h("h1", {}, "Something went wrong"), h("pre", {}, String(e))));
  }
}

async function boot() {
  const r = await api("GET", "/api/config");
  if (!r.ok) {
    main.replaceChildren(h("p", {}, r.data?.error || `error ${r.status}`));
    return;
  }
  config = r.data.config;
  document.getElementById("version").textContent = `v${config.version}`;
  if (r.data.latest) {
    const nav = document.getElementById("nav-live");
    nav.hidden = false;
    nav.href = `#/runs/${r.data.latest}`;
    nav.textContent = "Latest run";
  }
  window.addEventListener("hashchange", route);
  route();
}

boot();
