// brood serve in a real browser: Debian's headless Chromium driven by playwright-core (no browser
// download). Fills the form, runs a local 2-region test against the embedded demo target, watches
// the live charts and table update, stops it, opens it from the history, downloads its CSV and
// opens its HTML report offline. Screenshots go to target/e2e-artifacts/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const brood = process.env.BROOD_BIN || path.join(root, "target", "debug", "brood");
const artifacts = process.env.E2E_ARTIFACTS || path.join(root, "target", "e2e-artifacts");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const LOCUST_STATS_HEADER =
  "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time," +
  "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%," +
  "80%,90%,95%,98%,99%,99.9%,99.99%,100%";

let server;
let base;
let browser;
let work;

/** Starts `brood serve` on a free loopback port with the embedded demo target. */
function startServer(results) {
  return new Promise((resolve, reject) => {
    // An endpoint override counts as an AWS configuration, so the form offers the aws backend;
    // its preview makes no AWS call (nothing listens on port 9).
    const env = { ...process.env, AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL || "http://127.0.0.1:9" };
    const child = spawn(brood, ["serve", "--bind", "127.0.0.1:0", "--demo-target", "--results", results], {
      stdio: ["ignore", "pipe", "pipe"],
      env,
    });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`brood serve did not start: ${out}`)), 20000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m && out.includes("demo target on")) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr.on("data", (chunk) => { out += chunk; });
    child.on("exit", (code) => reject(new Error(`brood serve exited with ${code}: ${out}`)));
    child.on("error", reject);
  });
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  work = mkdtempSync(path.join(tmpdir(), "brood-e2e-"));
  ({ child: server, url: base } = await startServer(path.join(work, "results")));
  // playwright-core gives the browser a fresh temporary --user-data-dir of its own (it refuses
  // the flag in `args`), removed when the browser closes.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill("SIGTERM");
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Waits for the live view's state to read `end`; the error tells what it read instead. */
async function waitForEnd(page, end) {
  const state = page.locator("#run-state");
  try {
    await state.filter({ hasText: end }).waitFor({ timeout: 60000 });
  } catch (e) {
    throw new Error(`the run did not end "${end}": it shows "${await state.textContent()}" (${e.message})`);
  }
}

/** Clicks Stop and checks that the server took the request. */
async function stopRun(page) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/stop")),
    page.click("#stop-btn"),
  ]);
  assert.equal(response.status(), 202, await response.text());
}

/** The number in the stats table's Aggregated row, column `col`. */
async function aggregated(page, col) {
  const text = await page.locator("#stats-table tr.total td").nth(col).textContent();
  return Number(text.replace(/,/g, ""));
}

test("a scenario edited in the page is checked, with the line of the mistake", async () => {
  const page = await browser.newPage();
  await page.goto(base);
  await page.click("#mode-scenario");
  await page.fill("#f-scenario", "users:\n  - name: a\n    tasks:\n      - get: /shop/\n        wieght: 2\n");
  const error = page.locator("#e-scenario");
  await error.filter({ hasText: "line 5" }).waitFor({ timeout: 10000 });
  assert.match(await error.textContent(), /line 5, column \d+: .*wieght/);
  assert.equal(await page.locator("#gutter .bad-line").textContent(), "5");
  // An uploaded file takes the editor's place and is checked the same way.
  await page.setInputFiles("#f-upload", {
    name: "broken.yaml",
    mimeType: "text/yaml",
    buffer: Buffer.from("users:\n  - name: a\n    weigth: 1\n    tasks:\n      - get: /shop/\n"),
  });
  await error.filter({ hasText: "line 3" }).waitFor({ timeout: 10000 });
  assert.match(await error.textContent(), /weigth/);
  assert.match(await page.inputValue("#f-scenario"), /weigth: 1/);
  await page.close();
});

test("the aws backend's preview sizes each region's fleet and prices it before anything starts", async () => {
  const page = await browser.newPage({ viewport: { width: 1360, height: 1100 } });
  await page.goto(base);
  assert.ok(await page.locator("#backend-aws").isHidden());
  await page.selectOption("#f-backend", "aws");
  assert.equal(await page.inputValue("#f-regions"), "us-east-1,eu-west-1");
  assert.ok(await page.locator("#backend-local").isHidden());
  await page.fill("#f-regions", "us-east-1,eu-west-1:3");
  await page.fill("#f-users", "8000");
  await page.fill("#f-run_time", "10m");
  await page.fill("#f-workers", "");
  await page.fill("#f-instance_type", "t3.small");
  await page.click("#preview-btn");
  const preview = page.locator("#preview");
  await preview.filter({ hasText: "Estimated cost" }).waitFor({ timeout: 10000 });
  const text = await preview.textContent();
  const cost = Number(text.match(/Estimated cost: \$([\d.]+)/)[1]);
  assert.ok(cost > 0, text);
  assert.match(text, /t3\.small/);
  await page.screenshot({ path: path.join(artifacts, "aws-preview.png"), fullPage: true });
  // The cost cap is checked against the same estimate and reported next to its field.
  await page.fill("#f-max_cost", "0.001");
  await page.click("#preview-btn");
  await page.locator("#e-max_cost").filter({ hasText: "cap" }).waitFor({ timeout: 10000 });
  await page.close();
});

test("start a 2-region run, watch it live, stop it, download its CSV and open its report offline", async () => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 1100 } });
  const page = await context.newPage();
  await page.goto(base);
  await page.waitForSelector("#new-test");
  assert.match(await page.inputValue("#f-url"), /^http:\/\/127\.0\.0\.1:\d+\/shop\/$/);

  // A bad value is refused next to its field, as the command line would refuse the flag.
  await page.fill("#f-users", "lots");
  await page.click("#start-btn");
  await page.locator("#e-users").filter({ hasText: "whole number" }).waitFor();

  await page.screenshot({ path: path.join(artifacts, "form.png"), fullPage: true });
  await page.fill("#f-users", "12");
  await page.fill("#f-spawn_rate", "12");
  await page.fill("#f-run_time", "2m");
  await page.fill("#f-regions", "local-a,local-b");
  await page.fill("#f-workers", "1");
  await page.fill("#f-thresholds", "p95 < 5s\nfailure_rate < 50%");
  await page.click("#preview-btn");
  await page.locator("#preview table").waitFor();
  assert.equal(await page.locator("#preview tbody tr").count(), 2);
  await page.click("#start-btn");
  await page.waitForURL(/#\/runs\/[0-9TZ-]+$/);
  const id = decodeURIComponent(page.url().split("#/runs/")[1]);

  // Updates arrive by the event stream: the page is never reloaded.
  await page.evaluate(() => { window.stillTheSamePage = true; });
  await page.locator("#stats-table tr.total").waitFor({ timeout: 30000 });
  await page.waitForFunction(() => {
    const cell = document.querySelector("#stats-table tr.total td:nth-child(3)");
    return cell && Number(cell.textContent.replace(/,/g, "")) > 0;
  }, null, { timeout: 30000 });
  const first = await aggregated(page, 2);
  await page.waitForFunction((n) => {
    const cell = document.querySelector("#stats-table tr.total td:nth-child(3)");
    return Number(cell.textContent.replace(/,/g, "")) > n;
  }, first, { timeout: 15000 });
  // The charts have lines, for all regions and each region.
  // Every line of the four charts (9 in all) has at least two points, and p95 has a few.
  await page.waitForFunction(() => document.querySelectorAll("#charts svg path.line").length >= 9, null, { timeout: 30000 });
  await page.waitForFunction(() => {
    const p95 = document.querySelectorAll("#charts figure")[1].querySelectorAll("path.line")[1];
    return p95 && p95.getAttribute("d").split("L").length >= 6;
  }, null, { timeout: 30000 });
  assert.ok(await page.evaluate(() => window.stillTheSamePage), "the page was not reloaded");
  assert.deepEqual(await page.locator("#views button").allTextContents(), ["All regions", "local-a", "local-b"]);
  await page.screenshot({ path: path.join(artifacts, "live.png"), fullPage: true });

  await page.click('#views button[data-key="local-b"]');
  await page.locator("#stats-table tr.total").waitFor();
  await page.click('#detail-tabs button[data-key="workers"]');
  await page.locator("#tab-workers tbody tr").nth(1).waitFor();
  assert.equal(await page.locator("#tab-workers tbody tr").count(), 2);
  await page.click('#detail-tabs button[data-key="stats"]');
  await page.click('#views button[data-key="all"]');

  await stopRun(page);
  await waitForEnd(page, "stopped");
  await page.locator("#downloads").waitFor({ timeout: 30000 });

  // The run is in the history; its page has the downloads.
  await page.click("#nav-runs");
  await page.locator("#runs-table").waitFor();
  const row = page.locator("#runs-table tbody tr", { hasText: id });
  assert.match(await row.textContent(), /stopped/);
  await row.locator(`a[href="#/runs/${id}"]`).click();
  await page.locator("#downloads").waitFor();
  const verdicts = await page.locator("#results table tbody tr").allTextContents();
  assert.deepEqual(verdicts.map((t) => t.slice(0, 4)), ["pass", "pass"], String(verdicts));

  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.click('#downloads a[data-name="merged_stats.csv"]'),
  ]);
  const csvPath = path.join(work, "merged_stats.csv");
  await csv.saveAs(csvPath);
  // Written by a standard CSV writer, as Locust's: rows end in CRLF.
  const lines = readFileSync(csvPath, "utf8").trim().split("\r\n");
  assert.equal(lines[0], LOCUST_STATS_HEADER);
  assert.match(lines[lines.length - 1], /^,Aggregated,[1-9]\d*,/);

  // Run again with the same form, stop it, and compare the two runs.
  await page.click("#rerun-btn");
  await page.waitForURL((url) => url.hash.startsWith("#/runs/") && !url.hash.endsWith(id));
  const again = decodeURIComponent(page.url().split("#/runs/")[1]);
  // The new run's live view, not the old one still on screen, has figures.
  await page.locator("#live h1", { hasText: again }).waitFor({ timeout: 30000 });
  await page.waitForFunction(() => {
    const cell = document.querySelector("#stats-table tr.total td:nth-child(3)");
    return cell && Number(cell.textContent.replace(/,/g, "")) > 0;
  }, null, { timeout: 30000 });
  await stopRun(page);
  await waitForEnd(page, "stopped");
  await page.click("#nav-runs");
  await page.locator("#runs-table").waitFor();
  await page.check(`input[aria-label="select ${id}"]`);
  await page.check(`input[aria-label="select ${again}"]`);
  await page.screenshot({ path: path.join(artifacts, "runs.png"), fullPage: true });
  await page.click("#compare-btn");
  await page.locator("#compare-table").waitFor();
  const compared = await page.locator("#compare-table tbody tr").allTextContents();
  assert.equal(compared.length, 2, "the endpoint and the Aggregated row");
  assert.match(compared[0], /GET\/shop\//);
  assert.match(compared[1], /Aggregated/);
  assert.ok((await page.locator("#compare-table thead").textContent()).includes("Δ"));
  await page.screenshot({ path: path.join(artifacts, "compare.png"), fullPage: true });
  await page.goto(`${base}/#/runs/${id}`);
  await page.locator("#downloads").waitFor();
  await page.screenshot({ path: path.join(artifacts, "run.png"), fullPage: true });

  const [report] = await Promise.all([
    page.waitForEvent("download"),
    page.click('#downloads a[data-name="report.html"]'),
  ]);
  const reportPath = path.join(work, "report.html");
  await report.saveAs(reportPath);
  await context.close();

  // The report opens from disk with the network blocked, and asks for nothing.
  const offline = await browser.newContext({ offline: true, viewport: { width: 1280, height: 1000 } });
  const fetched = [];
  await offline.route(/^(?!file:)/, (r) => { fetched.push(r.request().url()); return r.abort(); });
  const reportPage = await offline.newPage();
  await reportPage.goto(pathToFileURL(reportPath).href);
  assert.match(await reportPage.title(), new RegExp(id));
  assert.ok(await reportPage.locator("svg").count() >= 1, "the report has charts");
  assert.ok(await reportPage.locator("table").count() >= 1, "the report has tables");
  assert.ok((await reportPage.textContent("body")).includes("local-b"), "per-region part");
  await reportPage.screenshot({ path: path.join(artifacts, "report.png"), fullPage: true });
  assert.deepEqual(fetched, [], "nothing fetched");
  await offline.close();
});
