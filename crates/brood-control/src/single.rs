//! A run on one machine, in this process: start the engine, merge its deltas every second, show
//! progress, keep the CSVs current, and finish with the summary, the files and the outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brood_engine::{EngineConfig, StartAt};
use brood_plan::Segment;
use brood_report::{evaluate, write_summary_table, LiveView};
use brood_stats::{RunStats, RunStatsConfig};

use crate::console::{print_thresholds, Live};
use crate::observer::Command;
use crate::outcome::Outcome;
use crate::outputs::Files;
use crate::record::run_info;
use crate::settings::Settings;
use crate::verdict::{decide, failed_abort_threshold, no_load_note};

/// Deltas for second k are sent at k s; the run loop reads them a little later.
const TICK_LAG: Duration = Duration::from_millis(200);
/// Abort thresholds are first checked after this many seconds, once the figures mean something.
const ABORT_CHECK_FROM_SECS: u64 = 3;

/// Runs `settings` in this process, in the foreground: Ctrl-C stops, twice aborts.
pub fn run(settings: Settings) -> Outcome {
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
    let interrupts = crate::process::interrupts();
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
        while let Ok(command) = interrupts.try_recv() {
            match command {
                Command::Stop => {
                    live.note("stopping (Ctrl-C again to cut running requests off)");
                    engine.stop();
                }
                Command::Abort => engine.abort(),
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
    // The same seconds the JSON, the CSVs and the history divide by.
    let rate = Duration::from_secs_f64(stats.rate_secs());
    let _ = write_summary_table(&mut out, stats.totals(), rate);
    print_thresholds(&mut out, &results);
    if let Some(e) = &write_error {
        eprintln!("brood: {e:#}");
    }
    let outcome = decide(
        &stats,
        &results,
        write_error.is_some(),
        settings.exit_code_on_error,
    );
    if outcome == Outcome::NoLoad {
        live.note(&no_load_note(&stats));
    }
    outcome
}
