//! Bounds on a run's load figures from the machine that runs it: users and arrivals per engine
//! thread, and memory per user. A plan past them is refused with an error that names the flag,
//! the limit and `--allow-huge-load`, instead of growing until the machine runs out of memory.

use brood_plan::{LoadOptions, Plan, PlanError, Profile};

/// Resident memory one running user costs. Measured with `brood run --demo-target / -u 5000
/// -r 5000 --wait 1s --threads 2`: peak RSS 174 MiB against 35 MiB for 200 users, 29 KiB per
/// added user (the in-process target's side of each connection included); rounded up.
pub const BYTES_PER_USER: u64 = 32 * 1024;

/// The share of the machine's memory the users may take; the rest is the stats, the reports
/// and everything else running here.
const MEMORY_SHARE: f64 = 0.5;

/// Users one engine thread keeps: each holds a connection and a timer, and the thread's
/// scheduler walks them every 10 ms; far past this its timers fire late and inflate latencies.
pub const USERS_PER_THREAD: u64 = 100_000;

/// Arrivals per second one engine thread may be asked to start. A thread cannot start more than
/// it sends, and one core sends well under this: wrk, the fastest anchor in the benchmark
/// (`../shared/bench/RESULTS.md`), answers 152,000 to 172,000 requests a second with a whole core
/// to itself. Past it the dispatcher only drops arrivals.
pub const ARRIVALS_PER_THREAD: f64 = 100_000.0;

/// The flag that lets a run past these bounds.
pub const OVERRIDE_FLAG: &str = "--allow-huge-load";

/// What the bounds are derived from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Machine {
    /// Engine threads the run uses.
    pub threads: usize,
    /// Physical memory in bytes; `None` where it cannot be read (no memory bound then).
    pub memory: Option<u64>,
}

impl Machine {
    /// This machine, running `threads` engine threads.
    pub fn current(threads: usize) -> Machine {
        Machine {
            threads,
            memory: physical_memory(),
        }
    }

    /// The most users a run may keep: per thread, and by memory.
    pub fn max_users(&self) -> u64 {
        let by_threads = USERS_PER_THREAD.saturating_mul(self.threads.max(1) as u64);
        match self.memory {
            Some(bytes) => by_threads.min((bytes as f64 * MEMORY_SHARE) as u64 / BYTES_PER_USER),
            None => by_threads,
        }
    }

    /// The highest arrival rate a run may ask for, per second.
    pub fn max_rate(&self) -> f64 {
        ARRIVALS_PER_THREAD * self.threads.max(1) as f64
    }
}

/// Physical memory from `/proc/meminfo`'s `MemTotal`, in bytes.
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Checks the plan's peak users and arrival rate against `machine`. `opts` tells which flag set
/// a figure, so the error can name it (the scenario's `load` section otherwise).
pub fn check(plan: &Plan, opts: &LoadOptions, machine: &Machine) -> Result<(), PlanError> {
    let from_flags = |flag: &'static str, set: bool| if set { flag } else { "load" };
    let stages = opts.stages.is_some();
    match &plan.profile {
        Profile::Users { curve } => {
            let flag = if stages {
                "--stages"
            } else {
                from_flags("--users", opts.users.is_some())
            };
            check_users(curve.peak(), flag, "users", machine)
        }
        Profile::Arrivals {
            curve, max_users, ..
        } => {
            let flag = if stages {
                "--stages"
            } else {
                from_flags("--arrival-rate", opts.arrival_rate.is_some())
            };
            let peak = curve.peak();
            let limit = machine.max_rate();
            if peak > limit {
                return Err(refuse(
                    flag,
                    format!(
                        "an arrival rate of {} per second is more than {} engine thread(s) can \
                         start: at most {} per second here ({} per thread)",
                        figure(peak),
                        machine.threads,
                        figure(limit),
                        figure(ARRIVALS_PER_THREAD),
                    ),
                ));
            }
            let users = if opts.max_users.is_some() {
                "users"
            } else {
                "users (by default twice the peak rate)"
            };
            check_users(*max_users as f64, "--max-users", users, machine)
        }
    }
}

fn check_users(users: f64, flag: &str, what: &str, machine: &Machine) -> Result<(), PlanError> {
    let limit = machine.max_users();
    if users <= limit as f64 {
        return Ok(());
    }
    let by_threads = USERS_PER_THREAD.saturating_mul(machine.threads.max(1) as u64);
    let why = if limit < by_threads {
        format!(
            "they would need about {} of memory ({} KiB each), more than half of this machine's {}",
            gib(users * BYTES_PER_USER as f64),
            BYTES_PER_USER / 1024,
            gib(machine.memory.unwrap_or(0) as f64),
        )
    } else {
        format!(
            "{} engine thread(s) keep at most {} users each",
            machine.threads,
            figure(USERS_PER_THREAD as f64)
        )
    };
    Err(refuse(
        flag,
        format!(
            "{} {what} are more than this machine can run: {why}; at most {} users here",
            figure(users),
            figure(limit as f64),
        ),
    ))
}

fn refuse(flag: &str, message: String) -> PlanError {
    PlanError::InvalidOption {
        flag: flag.into(),
        message,
        hint: Some(format!(
            "spread the load over workers (--backend, --regions, --workers), or pass \
             {OVERRIDE_FLAG} to run it here anyway"
        )),
    }
}

/// A whole figure with thousands separators; a huge one in scientific notation.
fn figure(x: f64) -> String {
    if x >= 1e15 {
        return format!("{x:.1e}");
    }
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn gib(bytes: f64) -> String {
    let gib = bytes / (1024.0 * 1024.0 * 1024.0);
    if gib >= 1e6 {
        format!("{gib:.1e} GiB")
    } else {
        format!("{gib:.1} GiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    fn machine() -> Machine {
        Machine {
            threads: 2,
            memory: Some(24 * GIB),
        }
    }

    #[test]
    fn bounds_follow_threads_and_memory() {
        assert_eq!(machine().max_users(), 200_000);
        let small = Machine {
            threads: 2,
            memory: Some(GIB),
        };
        assert_eq!(small.max_users(), GIB / 2 / BYTES_PER_USER);
        assert_eq!(machine().max_rate(), 200_000.0);
        assert_eq!(figure(10_000_000.0), "10,000,000");
        assert_eq!(figure(1e308), "1.0e308");
    }
}
