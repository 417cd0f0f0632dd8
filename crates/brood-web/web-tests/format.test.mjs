// The page's formatters (assets/js/format.js), imported as the browser loads them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { bytes, clock, fmt, ms, when } from "../assets/js/format.js";

test("fmt: decimals below 1,000, grouped whole numbers from there, a dash for no value", () => {
  assert.equal(fmt(3.14159), "3.1");
  assert.equal(fmt(3.14159, 2), "3.14");
  assert.equal(fmt(0), "0.0");
  assert.equal(fmt(12, 0), "12");
  assert.equal(fmt(999.94), "999.9");
  assert.equal(fmt(1234.5), "1,235");
  assert.equal(fmt(-1500), "-1,500");
  assert.equal(fmt(2_500_000, 3), "2,500,000");
  for (const none of [null, undefined, NaN]) assert.equal(fmt(none), "–");
});

test("ms: two decimals under 10 ms, one from there", () => {
  assert.equal(ms(0), "0.00");
  assert.equal(ms(5), "5.00");
  assert.equal(ms(9.999), "10.00");
  assert.equal(ms(10), "10.0");
  assert.equal(ms(12.345), "12.3");
  assert.equal(ms(4321), "4,321");
  assert.equal(ms(null), "–");
  assert.equal(ms(undefined), "–");
});

test("when: UTC to the second, a dash for no time", () => {
  assert.equal(when(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02 03:04:05 UTC");
  assert.equal(when(0), "–");
  assert.equal(when(null), "–");
  assert.equal(when(undefined), "–");
});

test("clock: m:ss, rounded, never negative, minutes past an hour", () => {
  assert.equal(clock(0), "0:00");
  assert.equal(clock(9.4), "0:09");
  assert.equal(clock(59.6), "1:00");
  assert.equal(clock(61), "1:01");
  assert.equal(clock(3725), "62:05");
  assert.equal(clock(-5), "0:00");
});

test("bytes: B, KiB and MiB with one decimal", () => {
  assert.equal(bytes(0), "0 B");
  assert.equal(bytes(1023), "1023 B");
  assert.equal(bytes(1024), "1.0 KiB");
  assert.equal(bytes(1536), "1.5 KiB");
  assert.equal(bytes(1048575), "1024.0 KiB");
  assert.equal(bytes(1048576), "1.0 MiB");
  assert.equal(bytes(5.25 * 1048576), "5.3 MiB");
});
