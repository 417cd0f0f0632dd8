// @ts-check
// Numbers, durations, times and sizes as the page shows them. Pure functions (no DOM), tested by
// crates/brood-web/web-tests/format.test.mjs.

/**
 * A number with `digits` decimals, or grouped without decimals from 1,000 up; "–" for no value.
 * @param {number | null | undefined} x
 * @param {number} [digits]
 */
export function fmt(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en");
  return Number(x).toFixed(digits);
}

/**
 * Milliseconds: two decimals under 10, one from there.
 * @param {number | null | undefined} x
 */
export const ms = (x) => (x === null || x === undefined ? "–" : fmt(x, x < 10 ? 2 : 1));

/**
 * A Unix time in milliseconds as "YYYY-MM-DD HH:MM:SS UTC"; "–" for none.
 * @param {number | null | undefined} unixMs
 */
export const when = (unixMs) =>
  (unixMs ? new Date(unixMs).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");

/**
 * Seconds as m:ss, rounded, never negative.
 * @param {number} secs
 */
export function clock(secs) {
  secs = Math.max(0, Math.round(secs));
  const m = Math.floor(secs / 60), r = secs % 60;
  return `${m}:${String(r).padStart(2, "0")}`;
}

/**
 * A size in B, KiB or MiB.
 * @param {number} n
 */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}
