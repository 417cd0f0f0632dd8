// @ts-check
// A run's page: the live view while the server still has the run's live state, otherwise its
// results card.
import { api } from "./api.js";
import { h, setNav } from "./dom.js";
import { renderLive, stopStream } from "./live.js";
import { resultsCard } from "./results.js";

/**
 * Shows run `id`.
 * @param {import("./types.js").App} app
 * @param {string} id
 */
export async function renderRun(app, id) {
  stopStream(app);
  const detail = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
  const live = await api("GET", `/api/runs/${encodeURIComponent(id)}/live`);
  if (live.ok) return renderLive(app, id, live.data, detail.ok ? detail.data : null);
  if (!detail.ok) {
    app.main.replaceChildren(h("div", { class: "card" }, h("h1", {}, "Run not found"), h("p", {}, detail.data?.error || "")));
    return;
  }
  setNav("nav-runs");
  app.main.replaceChildren(await resultsCard(detail.data));
}
