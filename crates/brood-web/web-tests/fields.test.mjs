// How the page lays out the server's field table, which fields show for a mode, shape and
// backend, what the form starts with and what it sends.
import assert from "node:assert/strict";
import { test } from "node:test";

import { boxId, conditionFields, layout, matches, requestOf, startValue } from "../assets/js/fields.js";

/** A field of the table, as GET /api/config serves it. */
const field = (name, section, extra = {}) => ({
  name, label: name, kind: "text", placeholder: "", help: "", options: [], section,
  row: null, only: null, default: null, lines: null, ...extra,
});

const FIELDS = [
  field("url", "target", { only: { mode: "quick" } }),
  field("host", "target", { only: { mode: "scenario" }, row: "file" }),
  field("scenario_format", "target", { only: { mode: "scenario" }, row: "file", kind: "select", default: "yaml",
    options: [{ value: "yaml", label: "YAML" }, { value: "toml", label: "TOML" }] }),
  field("scenario", "target", { only: { mode: "scenario" }, kind: "textarea", lines: 18 }),
  field("shape", "load", { row: "load", kind: "select", default: "closed",
    options: [{ value: "closed", label: "Closed" }, { value: "arrival", label: "Arrival" }] }),
  field("run_time", "load", { row: "load", kind: "duration" }),
  field("users", "load", { row: "closed", kind: "number", only: { shape: "closed" } }),
  field("spawn_rate", "load", { row: "closed", kind: "number", only: { shape: "closed" } }),
  field("arrival_rate", "load", { row: "arrival", kind: "number", only: { shape: "arrival" } }),
  field("thresholds", "thresholds", { kind: "textarea", lines: 3 }),
  field("abort_on_fail", "thresholds", { kind: "checkbox" }),
  field("backend", "where", { row: "where", kind: "select", default: "local",
    options: [{ value: "local", label: "local" }, { value: "aws", label: "aws" }] }),
  field("regions", "where", { row: "where" }),
  field("region_latency", "where", { only: { backend: "local" } }),
  field("deployment", "where", { row: "aws", only: { backend: "aws" } }),
  field("max_cost", "where", { row: "aws", kind: "number", only: { backend: "aws" } }),
  field("spot", "where", { kind: "checkbox", only: { backend: "aws" } }),
];

const names = (row) => row.fields.map((f) => f.name);

test("layout: sections in order, a box per condition, rows of fields sharing a row name", () => {
  const sections = layout(FIELDS);
  assert.deepEqual(sections.map((s) => s.name), ["target", "load", "thresholds", "where"]);
  const [target, load, thresholds, where] = sections;
  assert.deepEqual(target.boxes.map((b) => b.id), ["quick-box", "scenario-box"]);
  assert.deepEqual(target.boxes[1].rows.map((r) => [r.name, names(r)]),
    [["file", ["host", "scenario_format"]], [null, ["scenario"]]]);
  assert.deepEqual(load.boxes.map((b) => b.id), [null, "shape-closed", "shape-arrival"]);
  assert.deepEqual(load.boxes[0].rows.map(names), [["shape", "run_time"]]);
  assert.deepEqual(load.boxes[1].rows.map(names), [["users", "spawn_rate"]]);
  // Fields without a row name each stand alone, even next to each other.
  assert.deepEqual(thresholds.boxes.map((b) => b.rows.map(names)), [[["thresholds"], ["abort_on_fail"]]]);
  assert.deepEqual(where.boxes.map((b) => b.id), [null, "backend-local", "backend-aws"]);
  assert.deepEqual(where.boxes[2].rows.map((r) => [r.name, names(r)]),
    [["aws", ["deployment", "max_cost"]], [null, ["spot"]]]);
  assert.deepEqual(where.boxes[2].only, { backend: "aws" });
});

test("layout keeps every field once, in the table's order within each section", () => {
  const laid = layout(FIELDS).flatMap((s) => s.boxes.flatMap((b) => b.rows.flatMap(names)));
  assert.deepEqual(laid, FIELDS.map((f) => f.name));
});

test("boxId names a box after its condition", () => {
  assert.equal(boxId({ mode: "scenario" }), "scenario-box");
  assert.equal(boxId({ shape: "stages" }), "shape-stages");
  assert.equal(boxId({ backend: "aws" }), "backend-aws");
});

test("matches and conditionFields: what decides which fields show", () => {
  const state = { mode: "quick", shape: "closed", backend: "aws" };
  assert.ok(matches(null, state));
  assert.ok(matches({ backend: "aws" }, state));
  assert.ok(!matches({ backend: "local" }, state));
  assert.ok(!matches({ mode: "scenario" }, state));
  assert.deepEqual(conditionFields(FIELDS), ["shape", "backend"]);
});

test("startValue: the given value, else a select's default; checkboxes are booleans", () => {
  const byName = (name) => FIELDS.find((f) => f.name === name);
  assert.equal(startValue(byName("shape"), {}), "closed");
  assert.equal(startValue(byName("shape"), { shape: "arrival" }), "arrival");
  assert.equal(startValue(byName("backend"), { backend: "" }), "local");
  assert.equal(startValue(byName("users"), { users: "20" }), "20");
  assert.equal(startValue(byName("users"), {}), "");
  assert.equal(startValue(byName("spot"), {}), false);
  assert.equal(startValue(byName("spot"), { spot: true }), true);
});

test("requestOf sends what is shown and empties the other modes', shapes' and backends' fields", () => {
  const values = {
    url: "http://x/", host: "http://h", scenario_format: "yaml", scenario: "users: []", shape: "closed",
    run_time: "1m", users: "5", spawn_rate: "1", arrival_rate: "9", thresholds: "p95 < 1s",
    abort_on_fail: true, backend: "local", regions: "a,b", region_latency: "b:5ms",
    deployment: "prod", max_cost: "3", spot: true,
  };
  const read = (name) => values[name];
  const quickLocal = requestOf(FIELDS, read, { mode: "quick", shape: "closed", backend: "local" });
  assert.deepEqual(quickLocal, {
    ...values, host: "", scenario_format: "", scenario: "", arrival_rate: "",
    deployment: "", max_cost: "", spot: false,
  });
  const scenarioAws = requestOf(FIELDS, read, { mode: "scenario", shape: "arrival", backend: "aws" });
  assert.equal(scenarioAws.url, "");
  assert.equal(scenarioAws.scenario, "users: []");
  assert.equal(scenarioAws.users, "");
  assert.equal(scenarioAws.arrival_rate, "9");
  assert.equal(scenarioAws.region_latency, "");
  assert.equal(scenarioAws.spot, true);
  assert.equal(scenarioAws.abort_on_fail, true);
  // A field the page does not have is left out.
  const some = requestOf(FIELDS, (name) => (name === "url" ? "http://x/" : undefined), { mode: "quick" });
  assert.deepEqual(some, { url: "http://x/" });
});
