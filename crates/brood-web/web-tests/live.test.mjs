// How the live view merges an update (the newest points only) into the state it has.
import assert from "node:assert/strict";
import { test } from "node:test";

import { mergeUpdate } from "../assets/js/live.js";

const point = (t) => ({ t, rps: t, fps: 0, users: 1, dropped: 0 });
const view = (name, ts) => ({ name, series: ts.map(point), table: [] });
const state = (all, regions, extra = {}) => ({
  run_id: "r", state: "running", started_ms: 0, all, regions,
  workers: [], failures: [], exceptions: [], notes: [], verdicts: [], ...extra,
});

test("mergeUpdate appends only points newer than the last, per view", () => {
  const old = state(view("all", [1, 2, 3]), [view("a", [1, 2]), view("b", [3])]);
  const update = state(view("all", [2, 3, 4, 5]), [view("a", [2, 3]), view("b", [2, 3, 4]), view("c", [4])],
    { state: "finished", end: "stopped" });
  const merged = mergeUpdate(old, update);
  assert.deepEqual(merged.all.series.map((p) => p.t), [1, 2, 3, 4, 5]);
  assert.deepEqual(merged.regions.map((r) => [r.name, r.series.map((p) => p.t)]),
    [["a", [1, 2, 3]], ["b", [3, 4]], ["c", [4]]]);
  assert.equal(merged.state, "finished");
  assert.equal(merged.end, "stopped");
  assert.deepEqual(old.all.series.map((p) => p.t), [1, 2, 3], "the old state is left as it was");
});

test("mergeUpdate drops regions the update no longer has", () => {
  const merged = mergeUpdate(state(view("all", []), [view("a", [1])]), state(view("all", [1]), []));
  assert.deepEqual(merged.regions, []);
  assert.deepEqual(merged.all.series.map((p) => p.t), [1]);
});
