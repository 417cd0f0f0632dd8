// @ts-check
// The new-test form: quick mode (a URL) or a scenario edited in the page with a line gutter,
// the load shape, thresholds, backend and regions; Preview, and Start. The fields are the
// server's field table (app.fields, from brood-web's src/fields.rs), laid out by fields.js; this
// module adds what is the page's own (the mode switch, the scenario's editor and upload, the
// section titles). Errors from the server show next to the field they name (and at the
// scenario's line).
import { api, errorOf } from "./api.js";
import { byId, h, setNav } from "./dom.js";
import { conditionFields, layout, matches, requestOf, startValue } from "./fields.js";
import { stopStream } from "./live.js";

/** Each section's title; the target section has the mode switch instead. */
const SECTION_TITLES = { target: null, load: "Load", thresholds: "Thresholds", where: "Where from" };

/** Boxes' closing notes, by box id. */
const BOX_NOTES = {
  "backend-aws": "Leave workers per region empty to size each region's fleet from its share of the load; Preview shows the instances and the estimated cost.",
};

/**
 * A field's input, select or textarea, as its kind says.
 * @param {import("./types.js").FormField} f
 * @returns {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement}
 */
function control(f) {
  const id = `f-${f.name}`;
  switch (f.kind) {
    case "select":
      return h("select", { id, name: f.name }, f.options.map((o) => h("option", { value: o.value }, o.label)));
    case "textarea":
      return h("textarea", { id, name: f.name, rows: f.lines || 3, placeholder: f.placeholder || null });
    case "checkbox":
      return h("input", { type: "checkbox", id, name: f.name });
    default:
      return h("input", {
        id, name: f.name, type: "text", autocomplete: "off", placeholder: f.placeholder || null,
        inputmode: f.kind === "number" ? "decimal" : null,
      });
  }
}

/**
 * A labelled field with its help text and a slot for its error; a checkbox has its label after it.
 * @param {import("./types.js").FormField} f
 * @param {Node} holder the control, or what holds it (the scenario's editor)
 */
function field(f, holder) {
  const error = h("div", { class: "error", id: `e-${f.name}`, role: "alert" });
  if (f.kind === "checkbox") {
    return h("div", { class: "field check-field", id: `field-${f.name}` },
      h("label", { class: "check" }, holder, ` ${f.label}`), error);
  }
  return h("div", { class: "field", id: `field-${f.name}` },
    h("label", { for: `f-${f.name}` }, f.label),
    holder,
    f.help ? h("small", { class: "help" }, f.help) : null,
    error);
}

/**
 * A field's input, select or textarea, when the form has it.
 * @param {string} name
 */
const input = (name) => /** @type {HTMLInputElement | null} */ (document.getElementById(`f-${name}`));

/**
 * The form's fields (and the page's own parts in between) in their sections, boxes and rows.
 * @param {import("./types.js").FormField[]} fields
 * @param {{ modeSwitch: Node, editor: (area: HTMLTextAreaElement) => Node, upload: Node }} page
 * @returns {{ nodes: Node[], boxes: { el: HTMLElement, only: import("./types.js").Only }[] }}
 */
function build(fields, page) {
  /** @type {Node[]} */
  const nodes = [];
  /** @type {{ el: HTMLElement, only: import("./types.js").Only }[]} */
  const boxes = [];
  for (const section of layout(fields)) {
    const title = SECTION_TITLES[section.name];
    nodes.push(title ? h("h2", {}, title) : page.modeSwitch);
    for (const box of section.boxes) {
      const rows = box.rows.map((row) => {
        const items = row.fields.flatMap((f) => {
          const el = control(f);
          const holder = f.name === "scenario" ? page.editor(/** @type {HTMLTextAreaElement} */ (el)) : el;
          /** @type {Node[]} */
          const made = [field(f, holder)];
          if (f.name === "scenario_format") made.push(page.upload);
          return made;
        });
        return row.name === null ? items : [/** @type {Node} */ (h("div", { class: "row" }, items))];
      }).flat();
      if (!box.id || !box.only) { nodes.push(...rows); continue; }
      const kind = Object.keys(box.only)[0];
      const note = BOX_NOTES[/** @type {keyof typeof BOX_NOTES} */ (box.id)];
      const el = h("div", { class: `${kind}-box`, id: box.id }, rows, note ? h("p", { class: "muted" }, note) : null);
      boxes.push({ el, only: box.only });
      nodes.push(el);
    }
  }
  return { nodes, boxes };
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

  const fields = app.fields;
  const modeSwitch = h("div", { class: "modes", role: "tablist" },
    h("button", { type: "button", id: "mode-quick", onclick: () => setMode("quick") }, "Target URL"),
    h("button", { type: "button", id: "mode-scenario", onclick: () => setMode("scenario") }, "Scenario"));
  const upload = h("input", { type: "file", id: "f-upload", accept: ".yaml,.yml,.toml" });
  const { nodes, boxes } = build(fields, {
    modeSwitch,
    editor: (area) => {
      area.setAttribute("spellcheck", "false");
      area.setAttribute("wrap", "off");
      return h("div", { class: "editor" }, h("div", { class: "gutter", id: "gutter" }), area);
    },
    upload: h("div", { class: "field" }, h("label", { for: "f-upload" }, "Upload a file"), upload),
  });
  const preview = h("div", { id: "preview", class: "preview" });
  const form = h("form", { id: "new-test", class: "card", novalidate: true },
    h("h1", {}, "New test"),
    config.demo_target ? h("p", { class: "muted" }, `The demo target runs at ${config.demo_target}; the form is aimed at it.`) : null,
    nodes,
    h("div", { class: "error", id: "form-error", role: "alert" }),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "preview-btn", class: "secondary", onclick: () => doPreview() }, "Preview"),
      h("button", { type: "submit", id: "start-btn" }, "Start")),
    preview);
  app.main.replaceChildren(form);

  for (const f of fields) {
    const el = input(f.name);
    if (!el) continue;
    const value = startValue(f, values);
    if (el.type === "checkbox") el.checked = value === true;
    else if (value !== "") el.value = String(value);
  }
  const scenario = /** @type {HTMLTextAreaElement} */ (byId("f-scenario"));
  const format = /** @type {HTMLSelectElement} */ (byId("f-scenario_format"));
  const backends = /** @type {HTMLSelectElement} */ (byId("f-backend"));
  if (!scenario.value) scenario.value = SCENARIO_EXAMPLE;

  /** What decides which fields show: the mode and the fields conditions read (shape, backend). */
  const watched = conditionFields(fields);
  const state = () => Object.fromEntries([["mode", mode], ...watched.map((name) => [name, input(name)?.value || ""])]);
  function refresh() {
    const now = state();
    for (const box of boxes) box.el.hidden = !matches(box.only, now);
  }
  /** @param {string} m */
  function setMode(m) {
    mode = m;
    refresh();
    byId("mode-quick").classList.toggle("on", m === "quick");
    byId("mode-scenario").classList.toggle("on", m === "scenario");
    if (m === "scenario") updateGutter();
  }
  for (const name of watched) input(name)?.addEventListener("change", refresh);
  backends.addEventListener("change", () => {
    const info = config.backends.find((b) => b.name === backends.value);
    if (info) /** @type {HTMLInputElement} */ (byId("f-regions")).value = info.regions;
  });
  setMode(mode);

  /** The form as the API takes it: the fields not shown are sent empty. */
  const readForm = () => requestOf(fields, (name) => {
    const el = input(name);
    if (!el) return undefined;
    return el.type === "checkbox" ? el.checked : el.value;
  }, state());

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
    const r = await api("POST", "/api/preview", readForm());
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
    const r = await api("POST", "/api/runs", readForm());
    button.disabled = false;
    button.textContent = "Start";
    if (r.status === 201) { location.hash = `#/runs/${r.data.id}`; return; }
    if (r.status === 422) { showErrors(r.data.errors); return; }
    showErrors([]);
    byId("form-error").textContent = errorOf(r);
  });
}
