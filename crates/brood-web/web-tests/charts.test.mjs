// The charts' scaling (assets/js/charts.js): value range, axis ticks and labels, coordinates and
// line paths. Only the pure functions run here; lineChart() itself needs a DOM.
import assert from "node:assert/strict";
import { test } from "node:test";

import { BOX, chartRange, linePath, niceMax, scales, timeTicks, valueTicks } from "../assets/js/charts.js";

test("niceMax: the next 1, 2, 2.5, 5 or 10 times a power of ten", () => {
  const cases = [[0.3, 0.5], [1, 1], [1.5, 2], [2.2, 2.5], [3, 5], [7, 10], [12, 20], [99, 100],
    [101, 200], [250, 250], [251, 500], [999, 1000], [1e6, 1e6], [0.012, 0.02]];
  for (const [v, want] of cases) assert.equal(niceMax(v), want, `niceMax(${v})`);
  for (const v of [0, -1, NaN]) assert.equal(niceMax(v), 1, `niceMax(${v})`);
});

test("chartRange: at least 10 s of time, values from 0 to a nice maximum, gaps ignored", () => {
  assert.deepEqual(chartRange([]), { t0: 0, t1: 10, vmax: 1 });
  assert.deepEqual(chartRange([{ label: "a", color: "", points: [] }]), { t0: 0, t1: 10, vmax: 1 });
  const lines = [
    { label: "a", color: "", points: [[5, 1], [30, null], [40, 7]] },
    { label: "b", color: "", points: [[8, 3.5], [41, undefined]] },
  ];
  assert.deepEqual(chartRange(lines), { t0: 5, t1: 41, vmax: 10 });
  // A short run still spans 10 s; all-zero values a range of 1.
  assert.deepEqual(chartRange([{ label: "a", color: "", points: [[100, 0], [103, 0]] }]), { t0: 100, t1: 110, vmax: 1 });
});

test("valueTicks: five ticks from 0, whole numbers grouped, fractions to two decimals under 5", () => {
  const labels = (vmax) => valueTicks(vmax).map((t) => t.label);
  assert.deepEqual(valueTicks(100).map((t) => t.v), [0, 25, 50, 75, 100]);
  assert.deepEqual(labels(1), ["0", "0.25", "0.50", "0.75", "1"]);
  assert.deepEqual(labels(2.5), ["0", "0.63", "1.25", "1.88", "2.50"]);
  assert.deepEqual(labels(25), ["0", "6.3", "12.5", "18.8", "25"]);
  assert.deepEqual(labels(5000), ["0", "1,250", "2,500", "3,750", "5,000"]);
  assert.deepEqual(labels(0.2), ["0", "0.05", "0.10", "0.15", "0.20"]);
});

test("timeTicks: about six, 10 s apart or a multiple, as m:ss from the start", () => {
  assert.deepEqual(timeTicks(0, 10), [{ t: 0, label: "0:00" }, { t: 10, label: "0:10" }]);
  assert.deepEqual(timeTicks(0, 61).map((t) => t.label), ["0:00", "0:20", "0:40", "1:00"]);
  assert.deepEqual(timeTicks(0, 600).map((t) => t.label), ["0:00", "1:40", "3:20", "5:00", "6:40", "8:20", "10:00"]);
  // Offsets from t0, whatever t0 is.
  assert.deepEqual(timeTicks(1_700_000_000, 1_700_000_075).map((t) => t.t), [0, 20, 40, 60]);
  for (const [t0, t1] of [[0, 10], [0, 59], [0, 3600], [30, 7230]]) {
    const ticks = timeTicks(t0, t1);
    assert.ok(ticks.length >= 2 && ticks.length <= 7, `${ticks.length} ticks for ${t1 - t0} s`);
    assert.ok(ticks.every((t) => t.t <= t1 - t0));
  }
});

test("scales: time across the plot area, values upwards from its bottom", () => {
  const { x, y } = scales({ t0: 0, t1: 10, vmax: 1 });
  assert.equal(x(0), BOX.L);
  assert.equal(x(10), BOX.W - BOX.R);
  assert.equal(y(0), BOX.H - BOX.B);
  assert.equal(y(1), BOX.T);
  assert.equal(x(5), (BOX.L + BOX.W - BOX.R) / 2);
});

test("linePath: a move at the start and after each gap, lines in between", () => {
  const { x, y } = scales({ t0: 0, t1: 10, vmax: 1 });
  assert.equal(linePath([], x, y), "");
  assert.equal(linePath([[0, null]], x, y), "");
  assert.equal(linePath([[0, 0], [5, null], [6, 1], [10, 0.5]], x, y), "M52.0,184.0M349.6,14.0L548.0,99.0");
  assert.equal(linePath([[0, 0], [10, 1]], x, y), "M52.0,184.0L548.0,14.0");
});
