// @ts-check
// brood's web page: the new-test form, the live run view (SVG charts drawn here, updates pushed
// by server-sent events), the run history, a run's downloads and the comparison of two runs.
// Native ES modules with no dependencies and no build step; every request goes to the JSON API
// under /api/. This module loads the configuration and routes the address's #fragment to a view.
import { api, errorOf } from "./api.js";
import { renderCompare } from "./compare.js";
import { byId, h } from "./dom.js";
import { renderNew } from "./form.js";
import { renderRun } from "./run.js";
import { renderRuns } from "./runs.js";

/**
 * Shows the view the address names: #/runs/<id>, #/runs, #/compare/<a>/<b>, or the form
 * (#/new, or #/new?from=<id> to start from a run's form).
 * @param {import("./types.js").App} app
 */
async function route(app) {
  const hash = location.hash || "#/new";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "runs" && parts[1]) await renderRun(app, parts[1]);
    else if (parts[0] === "runs") await renderRuns(app);
    else if (parts[0] === "compare" && parts[2]) await renderCompare(app, parts[1], parts[2]);
    else await renderNew(app, new URLSearchParams(query || "").get("from"));
  } catch (e) {
    app.main.replaceChildren(h("section", { class: "card" }, h("h1", {}, "Something went wrong"), h("pre", {}, String(e))));
  }
}

async function boot() {
  const main = byId("main");
  const r = await api("GET", "/api/config");
  if (!r.ok) {
    main.replaceChildren(h("p", {}, errorOf(r)));
    return;
  }
  /** @type {import("./types.js").App} */
  const app = { main, config: r.data.config, fields: r.data.fields, stream: null };
  byId("version").textContent = `v${app.config.version}`;
  if (r.data.latest) {
    const nav = /** @type {HTMLAnchorElement} */ (byId("nav-live"));
    nav.hidden = false;
    nav.href = `#/runs/${r.data.latest}`;
    nav.textContent = "Latest run";
  }
  window.addEventListener("hashchange", () => route(app));
  route(app);
}

boot();
