//! The coordinator's rules, as event scripts with explicit times: the barrier, late and lost
//! workers, stop and abort, repeated deliveries.

mod support;

use brood_cluster::{
    Action, ClusterError, Coordinator, Event, RegionSpec, RunEnd, WorkerEnd, WorkerOutcome,
    WorkerPhase,
};
use support::*;

fn outcome_of<'a>(outcomes: &'a [WorkerOutcome], worker: &str) -> &'a WorkerEnd {
    &outcomes
        .iter()
        .find(|o| o.worker.as_deref() == Some(worker))
        .unwrap_or_else(|| panic!("{worker} in the outcome"))
        .end
}

/// Each worker sends snapshots `seqs`, one a second from the start, with heartbeats between.
fn run_seconds(
    s: &mut Script,
    start: u64,
    workers: &[(&str, &str)],
    seqs: std::ops::RangeInclusive<u64>,
) {
    for seq in seqs {
        let window = start + (seq - 1) * 1000;
        for (i, (worker, region)) in workers.iter().enumerate() {
            let values = latencies(seq * 31 + i as u64, 50, 2_000);
            let stats = delta(&values, 5, window);
            s.at(window + 1_020, snapshot(worker, region, seq, stats));
        }
        s.at(window + 1_100, Event::Tick);
        for (worker, region) in workers {
            s.at(window + 1_500, heartbeat(worker, region));
        }
    }
}

/// [`config`] with a heartbeat timeout longer than the barrier's, so waiting workers that send
/// no heartbeat in a script are not lost.
fn patient() -> brood_cluster::CoordinatorConfig {
    let mut c = config();
    c.heartbeat_timeout = secs(30);
    c
}

#[test]
fn barrier_starts_every_worker_at_one_time_once_all_are_ready() {
    let mut s = Script::new(config());
    assert!(s.at(T0, Event::JobsSent).is_empty());
    assert!(start_of(&s.at(T0 + 300, ready("b0", "b", 0))).is_none());
    // The same Ready again (at-least-once delivery) does not stand in for a second worker.
    assert!(start_of(&s.at(T0 + 400, ready("b0", "b", 0))).is_none());
    assert!(start_of(&s.at(T0 + 500, ready("a1", "a", 1))).is_none());
    assert!(start_of(&s.at(T0 + 900, Event::Tick)).is_none());
    let actions = s.at(T0 + 1_000, ready("a0", "a", 0));
    let (at, workers) = start_of(&actions).expect("start once the last slot is ready");
    assert_eq!(
        at,
        T0 + 1_000 + 2_000,
        "one absolute start, start_delay ahead"
    );
    assert_eq!(workers, vec!["a0", "a1", "b0"], "region order, then slot");
    assert_eq!(s.count(|a| matches!(a, Action::SendStart { .. })), 1);
    assert_eq!(s.c.start_at_ms(), Some(at));
    assert_eq!(
        s.c.global().start_ms(),
        at,
        "stats count from the common start"
    );
    s.at(T0 + 1_100, ready("a0", "a", 0));
    assert_eq!(s.count(|a| matches!(a, Action::SendStart { .. })), 1);
    let phases: Vec<WorkerPhase> = s.c.workers().map(|w| w.phase).collect();
    assert_eq!(
        phases,
        vec![WorkerPhase::Running; 3],
        "a repeated Ready changes nothing"
    );
}

#[test]
fn a_worker_late_but_within_the_barrier_timeout_joins() {
    let mut s = Script::new(patient());
    s.at(T0, Event::JobsSent);
    s.at(T0 + 100, ready("a0", "a", 0));
    s.at(T0 + 200, ready("a1", "a", 1));
    for t in (1..50).map(|i| T0 + i * 200) {
        assert!(start_of(&s.at(t, Event::Tick)).is_none(), "no start at {t}");
    }
    let actions = s.at(T0 + 9_900, ready("b0", "b", 0));
    let (at, workers) = start_of(&actions).expect("start");
    assert_eq!((at, workers.len()), (T0 + 11_900, 3));
}

#[test]
fn after_the_barrier_timeout_the_run_starts_with_fewer_when_allowed() {
    let mut config = patient();
    config.start_with_fewer = true;
    let mut s = Script::new(config);
    s.at(T0, Event::JobsSent);
    s.at(T0 + 100, ready("a0", "a", 0));
    s.at(T0 + 200, ready("a1", "a", 1));
    assert!(start_of(&s.at(T0 + 9_999, Event::Tick)).is_none());
    let actions = s.at(T0 + 10_000, Event::Tick);
    let (at, workers) = start_of(&actions).expect("start with the ready ones");
    assert_eq!((at, workers), (T0 + 12_000, vec!["a0".into(), "a1".into()]));
    assert!(s.logs().contains(
        &"only 2 of 3 workers ready after 10 s; starting with them (missing: b slot 0)".into()
    ));
    // The latecomer is not started, and is told so in the log.
    let late = s.at(T0 + 11_000, ready("b0", "b", 0));
    assert!(start_of(&late).is_none());
    assert_eq!(
        s.c.workers().find(|w| w.worker == "b0").map(|w| w.phase),
        Some(WorkerPhase::NotStarted)
    );
    s.at(T0 + 20_000, done("a0", "a", 0));
    s.at(T0 + 20_000, done("a1", "a", 0));
    let outcome = s.outcome().expect("finished without the latecomer");
    assert_eq!(outcome.end, RunEnd::Completed);
    assert_eq!(outcome_of(&outcome.workers, "b0"), &WorkerEnd::NotStarted);
}

#[test]
fn after_the_barrier_timeout_the_run_fails_when_fewer_are_not_allowed() {
    let mut s = Script::new(patient());
    s.at(T0, Event::JobsSent);
    s.at(T0 + 100, ready("a0", "a", 0));
    s.at(T0 + 200, ready("b0", "b", 0));
    let actions = s.at(T0 + 10_000, Event::Tick);
    assert!(start_of(&actions).is_none());
    assert!(
        actions.contains(&Action::SendStop { abort: true }),
        "waiting workers are released"
    );
    let outcome = finished(&actions).expect("finished");
    assert_eq!(
        outcome.end,
        RunEnd::Failed {
            reason: "only 2 of 3 workers ready after 10 s (missing: a slot 1)".into()
        }
    );
    assert_eq!(outcome.start_at_ms, None);
    let ends: Vec<(Option<&str>, &WorkerEnd)> = outcome
        .workers
        .iter()
        .map(|o| (o.worker.as_deref(), &o.end))
        .collect();
    assert_eq!(
        ends,
        vec![
            (Some("a0"), &WorkerEnd::NotStarted),
            (None, &WorkerEnd::NeverReady),
            (Some("b0"), &WorkerEnd::NotStarted),
        ]
    );
    assert!(
        s.at(T0 + 11_000, ready("a1", "a", 1)).is_empty(),
        "nothing after the end"
    );
}

#[test]
fn the_barrier_clock_starts_when_the_jobs_are_sent() {
    let mut s = Script::new(config());
    s.at(T0 + 100, ready("a0", "a", 0));
    assert!(finished(&s.at(T0 + 60_000, Event::Tick)).is_none());
    s.at(T0 + 60_000, Event::JobsSent);
    assert!(finished(&s.at(T0 + 69_999, Event::Tick)).is_none());
    assert!(finished(&s.at(T0 + 70_000, Event::Tick)).is_some());
}

#[test]
fn a_second_worker_for_a_taken_slot_is_left_out() {
    let mut s = Script::new(patient());
    s.at(T0, Event::JobsSent);
    s.at(T0 + 100, ready("a0", "a", 0));
    s.at(T0 + 150, ready("a0-again", "a", 0));
    s.at(T0 + 200, ready("a1", "a", 1));
    let (_, workers) = start_of(&s.at(T0 + 300, ready("b0", "b", 0))).expect("start");
    assert_eq!(workers, vec!["a0", "a1", "b0"]);
    assert!(s
        .logs()
        .iter()
        .any(|l| l.contains("a0-again") && l.contains("which worker a0 holds")));
}

#[test]
fn a_ready_worker_lost_before_the_start_frees_its_slot() {
    let mut s = Script::new(config());
    s.at(T0, Event::JobsSent);
    s.at(T0 + 100, ready("a0", "a", 0));
    s.at(T0 + 200, ready("a1", "a", 1));
    for t in [T0 + 3_000, T0 + 5_000] {
        s.at(t, heartbeat("a0", "a"));
    }
    let lost = s.at(T0 + 5_300, Event::Tick);
    assert!(lost.contains(&Action::WorkerLost {
        worker: "a1".into(),
        region: "a".into(),
        last_seen_ms: T0 + 200
    }));
    s.at(T0 + 6_000, ready("a1-new", "a", 1));
    let (_, workers) = start_of(&s.at(T0 + 6_100, ready("b0", "b", 0))).expect("start");
    assert_eq!(workers, vec!["a0", "a1-new", "b0"]);
}

#[test]
fn a_worker_lost_mid_run_is_reported_once_and_its_data_kept() {
    let mut s = Script::new(config());
    let start = s.start_all();
    run_seconds(
        &mut s,
        start,
        &[("a0", "a"), ("a1", "a"), ("b0", "b")],
        1..=2,
    );
    let kept_from_a1 = s.c.workers().find(|w| w.worker == "a1").map(|w| w.requests);
    assert_eq!(kept_from_a1, Some(100));
    // a1 goes silent: no snapshot, no heartbeat.
    run_seconds(&mut s, start, &[("a0", "a"), ("b0", "b")], 3..=12);
    let lost: Vec<&Action> = s
        .actions
        .iter()
        .filter(|a| matches!(a, Action::WorkerLost { .. }))
        .collect();
    assert_eq!(
        lost,
        vec![&Action::WorkerLost {
            worker: "a1".into(),
            region: "a".into(),
            last_seen_ms: start + 2_500,
        }],
        "marked lost once"
    );
    assert!(s.outcome().is_none(), "the run goes on without it");
    s.at(start + 13_000, done("a0", "a", 12));
    s.at(start + 13_000, done("b0", "b", 12));
    let outcome = s.outcome().expect("finished once the others are done");
    assert_eq!(outcome.end, RunEnd::Completed);
    assert_eq!(
        outcome_of(&outcome.workers, "a1"),
        &WorkerEnd::Lost {
            last_seq: Some(2),
            last_seen_ms: start + 2_500
        }
    );
    assert_eq!(
        outcome_of(&outcome.workers, "a0"),
        &WorkerEnd::Done {
            final_seq: 12,
            missing_snapshots: 0
        }
    );
    assert_eq!(
        s.c.global().aggregated().requests,
        (12 + 12 + 2) * 50,
        "a1's data is kept"
    );
    assert_eq!(
        s.c.region("a").map(|r| r.aggregated().requests),
        Some((12 + 2) * 50)
    );
}

#[test]
fn abort_sends_an_abort_and_finishes_when_workers_end() {
    let mut s = Script::new(config());
    let start = s.start_all();
    run_seconds(
        &mut s,
        start,
        &[("a0", "a"), ("a1", "a"), ("b0", "b")],
        1..=3,
    );
    let actions = s.at(start + 3_500, Event::AbortRequested);
    assert!(actions.contains(&Action::SendStop { abort: true }));
    assert!(s.at(start + 3_600, Event::AbortRequested).is_empty());
    assert!(s.at(start + 3_600, Event::StopRequested).is_empty());
    s.at(start + 3_700, done("a0", "a", 3));
    s.at(start + 3_700, done("b0", "b", 3));
    assert!(s.outcome().is_none(), "a1 has not ended yet");
    // a1 never answers: a heartbeat timeout after the abort it is lost and the run ends.
    s.at(start + 5_000, heartbeat("a1", "a"));
    assert!(finished(&s.at(start + 8_400, Event::Tick)).is_none());
    let actions = s.at(start + 8_500, Event::Tick);
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::WorkerLost { worker, .. } if worker == "a1")));
    assert_eq!(finished(&actions).map(|o| o.end), Some(RunEnd::Aborted));
}

#[test]
fn abort_before_the_start_ends_at_once() {
    let mut s = Script::new(config());
    s.at(T0, Event::JobsSent);
    s.at(T0 + 100, ready("a0", "a", 0));
    let actions = s.at(T0 + 200, Event::AbortRequested);
    assert_eq!(actions[0], Action::SendStop { abort: true });
    let outcome = finished(&actions).expect("finished");
    assert_eq!((outcome.end, outcome.start_at_ms), (RunEnd::Aborted, None));
}

#[test]
fn stop_reaches_every_worker_and_the_run_waits_for_their_done() {
    let mut s = Script::new(config());
    let start = s.start_all();
    run_seconds(
        &mut s,
        start,
        &[("a0", "a"), ("a1", "a"), ("b0", "b")],
        1..=4,
    );
    let actions = s.at(start + 4_200, Event::StopRequested);
    assert!(actions.contains(&Action::SendStop { abort: false }));
    s.at(start + 4_300, Event::StopRequested);
    assert_eq!(
        s.count(|a| matches!(a, Action::SendStop { .. })),
        1,
        "one stop, to everyone"
    );
    for (worker, region) in [("a0", "a"), ("b0", "b")] {
        s.at(start + 5_000, done(worker, region, 4));
        s.at(start + 5_100, done(worker, region, 4));
    }
    assert!(s.outcome().is_none(), "a1 is still finishing");
    s.at(start + 6_000, done("a1", "a", 4));
    assert_eq!(s.outcome().map(|o| o.end), Some(RunEnd::Stopped));
    assert_eq!(s.count(|a| matches!(a, Action::Finished(_))), 1);
}

#[test]
fn workers_still_busy_after_the_stop_grace_are_aborted_then_lost() {
    let mut s = Script::new(config());
    let start = s.start_all();
    s.at(start + 1_000, Event::StopRequested);
    s.at(start + 2_000, done("a0", "a", 0));
    s.at(start + 2_000, done("b0", "b", 0));
    for t in (2..=16).map(|i| start + i * 1_000) {
        s.at(t, heartbeat("a1", "a"));
        s.at(t, Event::Tick);
    }
    assert_eq!(
        s.count(|a| a == &Action::SendStop { abort: true }),
        1,
        "aborted once the 5 s grace ran out"
    );
    let outcome = s
        .outcome()
        .expect("finished a heartbeat timeout after the abort");
    assert_eq!(outcome.end, RunEnd::Stopped);
    assert!(matches!(
        outcome_of(&outcome.workers, "a1"),
        WorkerEnd::Lost { .. }
    ));
}

#[test]
fn the_run_time_plus_stop_grace_sends_a_stop() {
    let mut config = config();
    config.run_time = Some(secs(10));
    let mut s = Script::new(config);
    let start = s.start_all();
    for t in (1..=15).map(|i| start + i * 1_000) {
        for (worker, region, _) in WORKERS {
            s.at(t - 500, heartbeat(worker, region));
        }
        let actions = s.at(t - 1, Event::Tick);
        assert!(
            !actions.iter().any(|a| matches!(a, Action::SendStop { .. })),
            "{t}"
        );
    }
    assert!(s
        .at(start + 15_000, Event::Tick)
        .contains(&Action::SendStop { abort: false }));
    for (worker, region, _) in WORKERS {
        s.at(start + 15_500, done(worker, region, 0));
    }
    assert_eq!(s.outcome().map(|o| o.end), Some(RunEnd::Completed));
}

#[test]
fn workers_that_finish_on_their_own_complete_the_run_without_a_stop() {
    let mut config = config();
    config.run_time = Some(secs(3));
    let mut s = Script::new(config);
    let start = s.start_all();
    run_seconds(
        &mut s,
        start,
        &[("a0", "a"), ("a1", "a"), ("b0", "b")],
        1..=3,
    );
    for (worker, region, _) in WORKERS {
        s.at(start + 3_300, done(worker, region, 3));
    }
    assert_eq!(s.outcome().map(|o| o.end), Some(RunEnd::Completed));
    assert_eq!(s.count(|a| matches!(a, Action::SendStop { .. })), 0);
}

#[test]
fn repeated_deliveries_count_once() {
    let mut s = Script::new(config());
    let start = s.start_all();
    let mut distinct = 0;
    for seq in 1..=5 {
        let window = start + (seq - 1) * 1000;
        for (i, (worker, region, _)) in WORKERS.into_iter().enumerate() {
            let values = latencies(seq * 7 + i as u64, 100 + 10 * seq as usize, 3_000);
            distinct += values.len() as u64;
            let event = snapshot(worker, region, seq, delta(&values, 4, window));
            s.at(window + 1_010, event.clone());
            s.at(window + 1_020, event.clone());
            s.at(window + 9_000, event);
        }
    }
    // Out of order too: seq 3 again after seq 5.
    let again = delta(&latencies(3 * 7, 130, 3_000), 4, start + 2_000);
    s.at(start + 9_500, snapshot("a0", "a", 3, again));
    assert_eq!(s.c.global().aggregated().requests, distinct);
    assert_eq!(
        s.c.global()
            .totals()
            .failures
            .values()
            .map(|f| f.occurrences)
            .sum::<u64>(),
        distinct / 10
    );
    for view in s.c.workers() {
        assert_eq!(view.snapshots, 5, "{}", view.worker);
    }
    for _ in 0..3 {
        for (worker, region, _) in WORKERS {
            s.at(start + 10_000, done(worker, region, 5));
        }
    }
    assert_eq!(s.count(|a| matches!(a, Action::Finished(_))), 1);
    assert_eq!(s.c.global().aggregated().requests, distinct);
}

#[test]
fn done_waits_for_snapshots_still_in_flight() {
    let mut s = Script::new(config());
    let start = s.start_all();
    run_seconds(
        &mut s,
        start,
        &[("a0", "a"), ("a1", "a"), ("b0", "b")],
        1..=2,
    );
    let late = delta(&latencies(99, 40, 1_000), 0, start + 2_000);
    for (worker, region, _) in WORKERS {
        s.at(start + 3_100, done(worker, region, 3));
    }
    assert!(
        s.outcome().is_none(),
        "every worker's seq 3 is still missing"
    );
    s.at(start + 3_200, snapshot("a0", "a", 3, late.clone()));
    s.at(start + 3_200, snapshot("a1", "a", 3, late));
    assert!(s.outcome().is_none(), "b0's seq 3 never comes");
    s.at(start + 8_099, Event::Tick);
    assert!(s.outcome().is_none());
    s.at(start + 8_100, Event::Tick);
    let outcome = s.outcome().expect("given up on b0's last snapshot");
    assert_eq!(
        outcome_of(&outcome.workers, "b0"),
        &WorkerEnd::Done {
            final_seq: 3,
            missing_snapshots: 1
        }
    );
    assert_eq!(outcome.end, RunEnd::Completed);
}

#[test]
fn a_failed_worker_leaves_the_run_and_keeps_its_data() {
    let mut s = Script::new(config());
    let start = s.start_all();
    run_seconds(
        &mut s,
        start,
        &[("a0", "a"), ("a1", "a"), ("b0", "b")],
        1..=2,
    );
    s.at(
        start + 2_500,
        Event::WorkerError {
            worker: "b0".into(),
            region: "b".into(),
            message: "engine thread panicked".into(),
        },
    );
    assert!(s
        .logs()
        .contains(&"b: worker b0 failed: engine thread panicked; its data so far is kept".into()));
    s.at(start + 3_000, done("a0", "a", 2));
    s.at(start + 3_000, done("a1", "a", 2));
    let outcome = s.outcome().expect("finished");
    assert_eq!(outcome.end, RunEnd::Completed);
    assert_eq!(
        outcome_of(&outcome.workers, "b0"),
        &WorkerEnd::Errored {
            message: "engine thread panicked".into()
        }
    );
    assert_eq!(s.c.region("b").map(|r| r.aggregated().requests), Some(100));
}

#[test]
fn a_run_where_every_worker_is_lost_fails() {
    let mut s = Script::new(config());
    let start = s.start_all();
    s.at(start + 6_000, Event::Tick);
    let outcome = s.outcome().expect("finished");
    assert_eq!(
        outcome.end,
        RunEnd::Failed {
            reason: "no started worker finished (3 lost, 0 failed)".into()
        }
    );
}

#[test]
fn users_are_the_sum_of_each_workers_newest_gauge() {
    let mut s = Script::new(config());
    let start = s.start_all();
    let users = |s: &Script| (s.c.global().users(), s.c.region("a").map(|r| r.users()));
    s.at(
        start + 1_000,
        snapshot("a0", "a", 1, delta(&[1_000], 10, start)),
    );
    s.at(
        start + 1_000,
        snapshot("a1", "a", 1, delta(&[1_000], 20, start)),
    );
    s.at(
        start + 1_000,
        snapshot("b0", "b", 1, delta(&[1_000], 5, start)),
    );
    assert_eq!(users(&s), (35, Some(30)));
    s.at(
        start + 3_000,
        snapshot("a0", "a", 3, delta(&[1_000], 12, start + 2_000)),
    );
    // An older snapshot arriving late counts, but does not move the gauge back.
    s.at(
        start + 3_000,
        snapshot("a0", "a", 2, delta(&[1_000], 11, start + 1_000)),
    );
    assert_eq!(users(&s), (37, Some(32)));
    assert_eq!(s.c.global().aggregated().requests, 5);
    s.at(start + 2_100, done("a1", "a", 1));
    assert_eq!(users(&s), (17, Some(12)));
}

#[test]
fn bad_settings_are_refused() {
    let mut config = config();
    config.regions.push(RegionSpec::new("a", 1.0, 1));
    assert_eq!(
        Coordinator::new(config, T0).unwrap_err(),
        ClusterError::DuplicateRegion { region: "a".into() }
    );
    let mut config = support::config();
    config.heartbeat_timeout = secs(0);
    assert_eq!(
        Coordinator::new(config, T0).unwrap_err().to_string(),
        "heartbeat_timeout: must be longer than zero"
    );
}
