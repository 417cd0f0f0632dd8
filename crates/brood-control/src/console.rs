//! What a run shows on the terminal: the live progress line on stderr, the thresholds after the
//! summary table, the plan `--dry-run` prints, and the console observer of distributed runs.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use brood_cluster::Coordinator;
use brood_plan::Plan;
use brood_report::{live_line, LiveView, ThresholdResult};

use crate::observer::Observer;
use crate::record::describe;

/// Without a terminal, the progress line is printed this often instead of redrawn.
const PLAIN_PROGRESS_EVERY: u64 = 10;

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

/// The live progress view on stderr: redrawn in place on a terminal, a plain line now and then
/// otherwise (CI logs).
#[derive(Debug)]
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

/// What `--dry-run` prints: the load model and the plan's shape.
pub fn dry_run(plan: &Plan) -> String {
    let mut out = describe(plan).join("\n");
    out.push('\n');
    out.push_str(&plan.describe());
    out
}

/// `brood run`'s observer: the live line on stderr, the summary on stdout.
#[derive(Debug)]
pub struct Console {
    pub live: Live,
    /// When the load ends, for the live line's countdown.
    pub end: Option<Duration>,
}

impl Observer for Console {
    fn second(&mut self, coordinator: &Coordinator, second: u64) {
        let stats = coordinator.global();
        self.live.show(
            &LiveView::from_stats(stats, brood_engine::unix_ms_now(), self.end),
            second,
        );
    }

    fn note(&mut self, text: &str) {
        self.live.note(text);
    }

    fn stopping(&mut self, abort: bool) {
        if !abort {
            self.live
                .note("stopping (Ctrl-C again to cut running requests off)");
        }
    }

    fn summary(&mut self, text: &str) {
        print!("{text}");
    }
}
