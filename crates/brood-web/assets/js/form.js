// @ts-check
// The new-test form: quick mode (a URL) or a scenario edited in the page with a line gutter,
// the load shape, thresholds, backend and regions; Preview, and Start. Errors from the server
// show next to the field they name (and at the scenario's line).
import { api, errorOf } from "./api.js";
import { byId, h, setNav } from "./dom.js";
import { stopStream } from "./live.js";

/** The form's fields, by the name the API gives them (each input's id is f-<name>). */
export const FIELDS = ["url", "scenario", "scenario_format", "host", "shape", "users", "spawn_rate",
  "run_time", "stages", "arrival_rate", "max_users", "thresholds", "abort_on_fail", "backend",
  "regions", "workers", "region_latency", "deployment", "instance_type", "max_instances", "max_cost",
  "spot"];

/**
 * A labelled field with its help text and a slot for its error.
 * @param {string} name
 * @param {string} label
 * @param {Node} input
 * @param {string} [help]
 */
function field(name, label, input, help) {
  return h("div", { class: "field", id: `field-${name}` },
    h("label", { for: `f-${name}` }, label),
    input,
    help ? h("small", { class: "help" }, help) : null,
    h("div", { class: "error", id: `e-${name}`, role: "alert" }));
}

/**
 * A one-line text input for a field.
 * @param {string} name
 * @param {import("./dom.js").Attrs} [attrs]
 */
const text = (name, attrs = {}) => h("input", { id: `f-${name}`, name, type: "text", autocomplete: "off", ...attrs });

/**
 * A field's input, select or textarea, when the form has it.
 * @param {string} name
 */
const input = (name) => /** @type {HTMLInputElement | null} */ (document.getElementById(`f-${name}`));

/**
 * The form as the API takes it, with only the current mode's and backend's fields filled.
 * @param {() => string} mode
 * @returns {import("./types.js").RunRequest}
 */
function readForm(mode) {
  /** @type {import("./types.js").RunRequest} */
  const req = {};
  for (const name of FIELDS) {
    const el = input(name);
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

/**
 * Shows each error next to its field (or under the form when no field has that name), after
 * clearing the previous ones.
 * @param {import("./types.js").FieldError[] | null | undefined} errors
 */
function showErrors(errors) {
  for (const el of document.querySelectorAll(".field .error")) el.textContent = "";
  for (const el of document.querySelectorAll(".field.bad")) el.classList.remove("bad");
  const general = byId("form-error");
  general.textContent = "";
  for (const e of errors || []) {
    const slot = document.getElementById(`e-${e.field}`);
    const where = e.line ? `line ${e.line}, column ${e.column}: ` : "";
    if (slot) {
      slot.textContent = where + e.message;
      slot.closest(".field")?.classList.add("bad");
      if (e.field === "scenario" && e.line) markLine(e.line);
    } else {
      general.textContent += `${e.field}: ${e.message} `;
    }
  }
}

/**
 * Shows the scenario line an error points at in the gutter.
 * @param {number} line
 */
function markLine(line) {
  const gutter = document.getElementById("gutter");
  if (!gutter) return;
  for (const el of gutter.children) el.classList.toggle("bad-line", Number(el.textContent) === line);
}

function updateGutter() {
  const area = /** @type {HTMLTextAreaElement} */ (byId("f-scenario"));
  const gutter = byId("gutter");
  const lines = area.value.split("\n").length;
  if (gutter.children.length !== lines) {
    gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => h("div", {}, i + 1)));
  }
  gutter.scrollTop = area.scrollTop;
}

/** What the scenario editor starts with. */
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

/**
 * Shows the form, filled with the server's defaults or with the form of run `fromRun`.
 * @param {import("./types.js").App} app
 * @param {string | null} fromRun
 */
export async function renderNew(app, fromRun) {
  const config = app.config;
  stopStream(app);
  setNav("nav-new");
  let values = { ...config.defaults };
  if (fromRun) {
    const r = await api("GET", `/api/runs/${encodeURIComponent(fromRun)}/request`);
    if (r.ok) values = { ...values, ...r.data };
  }
  const given = values.scenario;
  let mode = typeof given === "string" && given.trim() ? "scenario" : "quick";
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
  app.main.replaceChildren(form);

  for (const name of FIELDS) {
    const el = input(name);
    if (!el) continue;
    const value = values[name];
    if (el.type === "checkbox") el.checked = !!value;
    else if (value !== undefined && value !== "") el.value = String(value);
  }
  if (!scenario.value) scenario.value = SCENARIO_EXAMPLE;
  if (!shape.value) shape.value = "closed";

  /** @param {string} m */
  function setMode(m) {
    mode = m;
    quickBox.hidden = m !== "quick";
    scenarioBox.hidden = m !== "scenario";
    byId("mode-quick").classList.toggle("on", m === "quick");
    byId("mode-scenario").classList.toggle("on", m === "scenario");
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
    if (info) /** @type {HTMLInputElement} */ (byId("f-regions")).value = info.regions;
    setBackend();
  });
  setMode(mode);
  setShape();
  setBackend();

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  scenario.addEventListener("input", () => {
    updateGutter();
    clearTimeout(timer);
    timer = setTimeout(() => doPreview(true), 600);
  });
  scenario.addEventListener("scroll", updateGutter);
  upload.addEventListener("change", async () => {
    const file = upload.files?.[0];
    if (!file) return;
    scenario.value = await file.text();
    format.value = file.name.endsWith(".toml") ? "toml" : "yaml";
    updateGutter();
    doPreview(true);
  });

  /** @param {boolean} [quiet] only check the form: show errors, keep the preview */
  async function doPreview(quiet) {
    const r = await api("POST", "/api/preview", readForm(modeOf));
    if (r.status === 422) {
      showErrors(r.data.errors);
      if (!quiet) preview.replaceChildren();
      return;
    }
    showErrors([]);
    if (!r.ok) { byId("form-error").textContent = errorOf(r); return; }
    if (quiet) return;
    /** @type {import("./types.js").Preview} */
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
    const button = /** @type {HTMLButtonElement} */ (byId("start-btn"));
    button.disabled = true;
    button.textContent = "Starting…";
    const r = await api("POST", "/api/runs", readForm(modeOf));
    button.disabled = false;
    button.textContent = "Start";
    if (r.status === 201) { location.hash = `#/runs/${r.data.id}`; return; }
    if (r.status === 422) { showErrors(r.data.errors); return; }
    showErrors([]);
    byId("form-error").textContent = errorOf(r);
  });
}
