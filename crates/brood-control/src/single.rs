//! `brood run` end to end on one machine: start the engine, merge its deltas every second, show
//! progress, keep the CSVs current, and finish with the summary, the files and the exit code.
//! Also the small `check` and `demo-target` commands.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brood_engine::{EngineConfig, StartAt};
use brood_plan::{Plan, Profile, Segment};
use brood_report::{evaluate, live_line, write_summary_table, LiveView, RunInfo, ThresholdResult};
use brood_stats::{RunStats, RunStatsConfig};
use brood_target::{Target, TargetConfig};

use crate::cli::{CheckArgs, DemoTargetArgs, RunArgs};
use crate::exit::Outcome;
use crate::outputs::Files;
use crate::settings::Settings;

/// Deltas for second k are sent at k s; the run loop reads them a little later.
const TICK_LAG: Duration = Duration::from_millis(200);
/// Abort thresholds are first checked after this many seconds, once the figures mean something.
const ABORT_CHECK_FROM_SECS: u64 = 3;
/// Without a terminal, the progress line is printed this often instead of redrawn.
const PLAIN_PROGRESS_EVERY: u64 = 10;

pub fn run(args: RunArgs) -> Outcome {
    let demo = if args.demo_target {
        match Target::start(TargetConfig::default()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("brood: cannot start the demo target: {e}");
                return Outcome::Infrastructure;
            }
        }
    } else {
        None
    };
    let demo_host = demo.as_ref().map(|t| format!("http://{}", t.addr()));
    let settings = match Settings::from_args(&args, demo_host.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::InvalidInput;
        }
    };
    if args.dry_run {
        print!("{}", dry_run(&settings.plan));
        return Outcome::Success;
    }
    if args.backend.is_some() || args.regions.is_some() {
        return match crate::settings::dist_settings(&args) {
            Ok(dist) => crate::distributed::run(settings, dist),
            Err(e) => {
                eprintln!("brood: {e}");
                Outcome::InvalidInput
            }
        };
    }
    execute(settings)
}

fn execute(settings: Settings) -> Outcome {
    let plan = Arc::new(settings.plan.clone());
    let end = plan.run_time();
    let start = StartAt::now();
    let mut files = match Files::create(&settings.outputs) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("brood: {e:#}");
            return Outcome::Infrastructure;
        }
    };
    let config = EngineConfig {
        threads: settings.threads,
        node: "local".into(),
        added_latency: Duration::ZERO,
    };
    let (engine, deltas) = match brood_engine::start(plan.clone(), Segment::WHOLE, &config, start) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::Infrastructure;
        }
    };
    let interrupts = Arc::new(AtomicUsize::new(0));
    let counter = interrupts.clone();
    // Set once per process; a second `run` in the same process (tests) keeps the first handler.
    let _ = ctrlc::set_handler(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut stats = RunStats::with_config(
        start.unix_ms,
        RunStatsConfig {
            full_history: settings.outputs.full_history,
            settle_secs: 0,
        },
    );
    let live = Live::new(settings.quiet);
    let mut second = 1u64;
    let mut aborted_by: Option<String> = None;
    let mut write_error = None;
    let mut seen_interrupts = 0;
    loop {
        let due = start.instant + Duration::from_secs(second) + TICK_LAG;
        match deltas.recv_timeout(due.saturating_duration_since(Instant::now())) {
            Ok(delta) => {
                stats.add(&delta);
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now_ms = start.unix_ms + second * 1000;
        stats.set_users(engine.users());
        let rows = stats.tick(now_ms).to_vec();
        if let Err(e) = files.every_second(&stats, &rows) {
            write_error.get_or_insert(e);
        }
        live.show(&LiveView::from_stats(&stats, now_ms, end), second);
        let pressed = interrupts.load(Ordering::SeqCst);
        if pressed > seen_interrupts {
            seen_interrupts = pressed;
            if pressed == 1 {
                live.note("stopping (Ctrl-C again to cut running requests off)");
                engine.stop();
            } else {
                engine.abort();
            }
        }
        if aborted_by.is_none() && second >= ABORT_CHECK_FROM_SECS {
            if let Some(failed) = failed_abort_threshold(&plan, &stats) {
                live.note(&format!("threshold `{failed}` failed: stopping the run"));
                aborted_by = Some(failed);
                engine.stop();
            }
        }
        second += 1;
    }
    engine.join();
    live.finish();
    let ended_ms = brood_engine::unix_ms_now();
    stats.set_users(0);
    let rows = stats
        .tick(ended_ms.max(start.unix_ms + second * 1000))
        .to_vec();
    let results = evaluate(&plan.thresholds, &stats);
    let info = run_info(&settings, &stats, start.unix_ms, ended_ms);
    let elapsed = Duration::from_millis(ended_ms.saturating_sub(start.unix_ms));
    if let Err(e) = files.finish(&stats, &rows, &info, &results, elapsed, &[]) {
        write_error.get_or_insert(e);
    }
    let mut out = std::io::stdout().lock();
    let _ = write_summary_table(&mut out, stats.totals(), elapsed);
    print_thresholds(&mut out, &results);
    if let Some(e) = &write_error {
        eprintln!("brood: {e:#}");
    }
    decide(
        &stats,
        &results,
        write_error.is_some(),
        settings.exit_code_on_error,
    )
}

/// The exit outcome, most serious first.
pub fn decide(
    stats: &RunStats,
    results: &[ThresholdResult],
    io_failed: bool,
    on_error: u8,
) -> Outcome {
    if io_failed {
        Outcome::Infrastructure
    } else if results.iter().any(|r| !r.passed) {
        Outcome::ThresholdsFailed
    } else if on_error != 0 && stats.aggregated().failures > 0 {
        Outcome::RequestsFailed(on_error)
    } else {
        Outcome::Success
    }
}

pub fn failed_abort_threshold(plan: &Plan, stats: &RunStats) -> Option<String> {
    let watched: Vec<_> = plan
        .thresholds
        .iter()
        .filter(|t| t.abort_on_fail)
        .cloned()
        .collect();
    if watched.is_empty() {
        return None;
    }
    evaluate(&watched, stats)
        .into_iter()
        .find(|r| !r.passed && r.actual.is_some())
        .map(|r| r.threshold.source)
}

pub fn print_thresholds(out: &mut impl Write, results: &[ThresholdResult]) {
    if results.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nThresholds:");
    for r in results {
        let actual = r
            .actual
            .map_or("no data".to_string(), |a| format!("{a:.3}"));
        let mark = if r.passed { "pass" } else { "FAIL" };
        let _ = writeln!(out, "  {mark}  {:<40} actual {actual}", r.threshold.source);
    }
}

pub fn run_info(settings: &Settings, stats: &RunStats, started_ms: u64, ended_ms: u64) -> RunInfo {
    RunInfo {
        run_id: run_id(started_ms),
        scenario: settings.scenario_label.clone(),
        target: settings.target.clone(),
        started_ms,
        ended_ms,
        users_peak: stats.users_peak(),
        model: describe(&settings.plan),
        regions: Vec::new(),
        workers: 1,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// A sortable, readable id from the start time, e.g. `20261124T201500Z-123`.
pub fn run_id(unix_ms: u64) -> String {
    let stamp = brood_report::utc_timestamp(unix_ms / 1000).replace(['-', ':'], "");
    format!("{stamp}-{:03}", unix_ms % 1000)
}

fn describe(plan: &Plan) -> Vec<String> {
    let (kind, curve) = match &plan.profile {
        Profile::Users { curve } => ("users", curve),
        Profile::Arrivals {
            curve,
            unit,
            max_users,
        } => {
            let mut lines = describe_curve("arrivals/s", curve);
            lines.push(
                format!("open model: one arrival = one {unit:?}, at most {max_users} users")
                    .to_lowercase(),
            );
            return lines;
        }
    };
    describe_curve(kind, curve)
}

fn describe_curve(kind: &str, curve: &brood_plan::Curve) -> Vec<String> {
    let mut lines = Vec::new();
    for pair in curve.points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        lines.push(format!(
            "{kind}: {} → {} from {:.1}s to {:.1}s",
            a.value,
            b.value,
            a.at.as_secs_f64(),
            b.at.as_secs_f64()
        ));
    }
    if curve.points.len() == 1 {
        lines.push(format!("{kind}: {}", curve.points[0].value));
    }
    lines.push(match curve.end {
        Some(end) => format!("run time: {:.1}s", end.as_secs_f64()),
        None => "run time: until stopped".into(),
    });
    lines
}

/// The live progress view on stderr: redrawn in place on a terminal, a plain line now and then
/// otherwise (CI logs).
pub struct Live {
    quiet: bool,
    terminal: bool,
}

impl Live {
    pub fn new(quiet: bool) -> Live {
        Live {
            quiet,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    pub fn show(&self, view: &LiveView, second: u64) {
        if self.quiet {
            return;
        }
        let line = live_line(view);
        if self.terminal {
            eprint!("\r\x1b[2K{line}");
        } else if second.is_multiple_of(PLAIN_PROGRESS_EVERY) {
            eprintln!("{line}");
        }
    }

    pub fn note(&self, text: &str) {
        if self.terminal && !self.quiet {
            eprintln!();
        }
        eprintln!("brood: {text}");
    }

    pub fn finish(&self) {
        if self.terminal && !self.quiet {
            eprintln!();
        }
    }
}

/// Stands in for the host when `brood check` is given none: the file may be meant for `--host`.
const PLACEHOLDER_HOST: &str = "http://host.invalid";

/// `brood check`: parse and compile a scenario without running it.
pub fn check(args: &CheckArgs) -> Outcome {
    let compiled = brood_plan::load_scenario(&args.scenario).and_then(|s| {
        let placeholder =
            (s.host.is_none() && args.host.is_none()).then(|| PLACEHOLDER_HOST.to_string());
        let opts = brood_plan::LoadOptions {
            host: args.host.clone().or(placeholder),
            ..brood_plan::LoadOptions::default()
        };
        brood_plan::compile(&s, &opts)
    });
    match compiled {
        Ok(plan) => {
            let tasks: usize = plan.user_types.iter().map(|t| t.tasks.len()).sum();
            println!(
                "{}: ok ({} user types, {tasks} tasks, {} stats entries)",
                args.scenario.display(),
                plan.user_types.len(),
                plan.entries.len()
            );
            Outcome::Success
        }
        Err(e) => {
            eprintln!("brood: {e}");
            Outcome::InvalidInput
        }
    }
}

/// `brood demo-target`: serve the built-in target until interrupted.
pub fn demo_target(args: &DemoTargetArgs) -> Outcome {
    let bind = match args.bind.parse() {
        Ok(addr) => addr,
        Err(_) => {
            eprintln!(
                "brood: --bind: expected an address like 127.0.0.1:8089, got {:?}",
                args.bind
            );
            return Outcome::InvalidInput;
        }
    };
    let target = match Target::start(TargetConfig {
        bind,
        ..TargetConfig::default()
    }) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("brood: cannot serve the demo target on {bind}: {e}");
            return Outcome::Infrastructure;
        }
    };
    println!(
        "demo target on http://{} (shop API under /shop/); Ctrl-C to stop",
        target.addr()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = ctrlc::set_handler(move || {
        let _ = tx.send(());
    });
    let _ = rx.recv();
    target.shutdown();
    Outcome::Success
}

/// What `--dry-run` prints: the load model and the plan's shape.
pub fn dry_run(plan: &Plan) -> String {
    let mut out = describe(plan).join("\n");
    out.push('\n');
    out.push_str(&plan.describe());
    out
}

/// `brood runs`: the run history, newest first.
pub fn list_runs(args: &crate::cli::RunsArgs) -> Outcome {
    let path = args.results.join("history.db");
    if !path.exists() {
        println!("no runs yet in {}", args.results.display());
        return Outcome::Success;
    }
    let history = match brood_history::History::open(&path) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::Infrastructure;
        }
    };
    // Runs whose controller died are marked and their stored worker results merged first.
    let store = brood_local::DirStore::new(args.results.clone());
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        rt.block_on(crate::distributed::recover(&history, &store, &args.results));
    }
    let runs = history.list(args.limit);
    let runs = match runs {
        Ok(r) => r,
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::Infrastructure;
        }
    };
    println!(
        "{:<22} {:<11} {:<20} {:<18} {:>10} {:>8} {:>9} {:>9}",
        "run", "status", "started (UTC)", "regions", "requests", "failures", "req/s", "p95 ms"
    );
    for run in runs {
        let h = run.headline.clone().unwrap_or_default();
        let started = brood_report::utc_timestamp(run.started_ms / 1000);
        println!(
            "{:<22} {:<11} {:<20} {:<18} {:>10} {:>8} {:>9.1} {:>9.1}",
            run.id,
            run.status.as_str(),
            started,
            run.regions.join(","),
            h.requests,
            h.failures,
            h.rps,
            h.p95_ms
        );
        if let Some(note) = &run.note {
            println!("    {note}");
        }
    }
    Outcome::Success
}
