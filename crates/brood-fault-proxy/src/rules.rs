//! Which calls get which fault, and when: [`Rule`]s as the configuration gives them and
//! [`Rules`], the state machine that decides each call. No I/O and no clock: time comes in as
//! an argument, so every rule is tested without sockets or sleeps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// One fault and when it happens.
///
/// A rule without `after` is armed from the start; one with `after` is armed by each call of
/// one of those actions (and re-armed by the next). While armed, the next `times` calls of
/// `action` (all of them, without `times`) get `fault`, for `within_secs` seconds (for ever,
/// without it). With `same_queue`, only calls naming the queue the arming call named count:
/// `CreateQueue` of the name a `DeleteQueue` deleted.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What [`Rules::fired`] counts it by; the action unless given.
    #[serde(default)]
    pub name: Option<String>,
    /// The action it answers, as AWS names it: `CreateQueue`, `DeleteSecurityGroup`.
    pub action: String,
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub within_secs: Option<f64>,
    #[serde(default)]
    pub same_queue: bool,
    #[serde(default)]
    pub times: Option<u32>,
    pub fault: Fault,
}

impl Rule {
    /// The rule's name for counting.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.action)
    }
}

/// What a faulted call gets.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// An error in the service's own format, with AWS's code (for SQS the query code, e.g.
    /// `AWS.SimpleQueueService.QueueDeletedRecently`) and message; HTTP 400 unless given.
    Error {
        code: String,
        message: String,
        #[serde(default)]
        status: Option<u16>,
    },
    /// The service's own throttling error (EC2 `RequestLimitExceeded` with 503, SQS
    /// `RequestThrottled`, the query services' `Throttling`).
    Throttle,
    /// The call goes through, and its answer (`DescribeScalingActivities`) gains a failed
    /// scaling activity, started now, with this status message.
    FailedScalingActivity { message: String },
}

/// A rule that does not make sense, by its place in the list.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("rule {index} ({action}): {problem}")]
pub struct RuleError {
    pub index: usize,
    pub action: String,
    pub problem: String,
}

/// What the proxy knows of a call: the service (from the signature's scope), the action, and
/// the names it acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Call {
    pub service: String,
    pub action: String,
    /// The queue's name, from `QueueName` or the last part of `QueueUrl`.
    pub queue: Option<String>,
    /// `AutoScalingGroupName`.
    pub group: Option<String>,
}

#[derive(Debug)]
struct Armed {
    since: Instant,
    queue: Option<String>,
    left: Option<u32>,
}

#[derive(Debug)]
struct Slot {
    rule: Rule,
    within: Option<Duration>,
    armed: Vec<Armed>,
    fired: u32,
}

/// The rules and what they have seen.
#[derive(Debug)]
pub struct Rules {
    slots: Vec<Slot>,
    seen: HashMap<String, u32>,
}

impl Rules {
    /// Checks the rules; those without `after` are armed from `now`.
    pub fn new(rules: Vec<Rule>, now: Instant) -> Result<Rules, RuleError> {
        let mut slots = Vec::new();
        for (index, rule) in rules.into_iter().enumerate() {
            let problem = |problem: &str| RuleError {
                index,
                action: rule.action.clone(),
                problem: problem.to_string(),
            };
            if rule.action.is_empty() {
                return Err(problem("`action` is empty"));
            }
            if rule.same_queue && rule.after.is_empty() {
                return Err(problem("`same_queue` needs `after`"));
            }
            if rule.times == Some(0) {
                return Err(problem("`times` is 0: the rule would never fire"));
            }
            let within = match rule.within_secs {
                None => None,
                Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
                Some(_) => return Err(problem("`within_secs` must be a positive number")),
            };
            let armed = if rule.after.is_empty() {
                vec![Armed {
                    since: now,
                    queue: None,
                    left: rule.times,
                }]
            } else {
                Vec::new()
            };
            slots.push(Slot {
                rule,
                within,
                armed,
                fired: 0,
            });
        }
        Ok(Rules {
            slots,
            seen: HashMap::new(),
        })
    }

    /// The fault for `call` at `now`, if a rule gives it one (the first that does); then the
    /// call arms the rules that wait for it.
    pub fn decide(&mut self, call: &Call, now: Instant) -> Option<Fault> {
        *self.seen.entry(call.action.clone()).or_default() += 1;
        let mut fault = None;
        for slot in &mut self.slots {
            if fault.is_some() || slot.rule.action != call.action {
                continue;
            }
            let (same_queue, within) = (slot.rule.same_queue, slot.within);
            let armed = slot.armed.iter_mut().find(|a| {
                (!same_queue || a.queue == call.queue)
                    && within.is_none_or(|w| now.saturating_duration_since(a.since) < w)
                    && a.left != Some(0)
            });
            if let Some(armed) = armed {
                if let Some(left) = &mut armed.left {
                    *left -= 1;
                }
                slot.fired += 1;
                fault = Some(slot.rule.fault.clone());
            }
        }
        for slot in &mut self.slots {
            if slot.rule.after.contains(&call.action) {
                let queue = if slot.rule.same_queue {
                    call.queue.clone()
                } else {
                    None
                };
                slot.armed.retain(|a| a.queue != queue);
                slot.armed.push(Armed {
                    since: now,
                    queue,
                    left: slot.rule.times,
                });
            }
        }
        fault
    }

    /// How many calls the rule named `name` has faulted (summed over rules of that name).
    pub fn fired(&self, name: &str) -> u32 {
        self.slots
            .iter()
            .filter(|s| s.rule.name() == name)
            .map(|s| s.fired)
            .sum()
    }

    /// How many calls of `action` came through the proxy, faulted or not.
    pub fn seen(&self, action: &str) -> u32 {
        self.seen.get(action).copied().unwrap_or(0)
    }

    /// How many calls came through in all.
    pub fn calls(&self) -> u64 {
        self.seen.values().map(|&n| u64::from(n)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(action: &str, queue: Option<&str>) -> Call {
        Call {
            service: "sqs".into(),
            action: action.into(),
            queue: queue.map(String::from),
            group: None,
        }
    }

    fn error(code: &str) -> Fault {
        Fault::Error {
            code: code.into(),
            message: "m".into(),
            status: None,
        }
    }

    fn rule(action: &str, fault: Fault) -> Rule {
        Rule {
            name: None,
            action: action.into(),
            after: Vec::new(),
            within_secs: None,
            same_queue: false,
            times: None,
            fault,
        }
    }

    #[test]
    fn the_first_n_calls_fail_and_then_none() {
        let t = Instant::now();
        let mut rules = Rules::new(
            vec![Rule {
                times: Some(2),
                ..rule("DescribeInstances", Fault::Throttle)
            }],
            t,
        )
        .unwrap();
        let c = call("DescribeInstances", None);
        let got: Vec<bool> = (0..4).map(|_| rules.decide(&c, t).is_some()).collect();
        assert_eq!(got, [true, true, false, false]);
        assert_eq!(rules.fired("DescribeInstances"), 2);
        assert_eq!(rules.seen("DescribeInstances"), 4);
        assert!(rules.decide(&call("ListQueues", None), t).is_none());
    }

    #[test]
    fn a_queue_deleted_recently_cannot_be_created_for_a_while() {
        let t = Instant::now();
        let mut rules = Rules::new(
            vec![Rule {
                after: vec!["DeleteQueue".into()],
                within_secs: Some(60.0),
                same_queue: true,
                ..rule(
                    "CreateQueue",
                    error("AWS.SimpleQueueService.QueueDeletedRecently"),
                )
            }],
            t,
        )
        .unwrap();
        let create = |q| call("CreateQueue", Some(q));
        assert!(
            rules.decide(&create("a"), t).is_none(),
            "nothing deleted yet"
        );
        assert!(rules.decide(&call("DeleteQueue", Some("a")), t).is_none());
        let s = Duration::from_secs;
        assert!(rules.decide(&create("a"), t + s(1)).is_some());
        assert!(rules.decide(&create("a"), t + s(59)).is_some());
        assert!(
            rules.decide(&create("b"), t + s(2)).is_none(),
            "another queue"
        );
        assert!(
            rules.decide(&create("a"), t + s(60)).is_none(),
            "60 s later"
        );
        // Deleted again: the minute starts again.
        rules.decide(&call("DeleteQueue", Some("a")), t + s(100));
        assert!(rules.decide(&create("a"), t + s(120)).is_some());
        assert_eq!(rules.fired("CreateQueue"), 3);
    }

    #[test]
    fn a_trigger_arms_the_next_n_calls_again_each_time() {
        let t = Instant::now();
        let mut rules = Rules::new(
            vec![Rule {
                name: Some("in use".into()),
                after: vec!["DeleteAutoScalingGroup".into(), "TerminateInstances".into()],
                times: Some(2),
                ..rule("DeleteSecurityGroup", error("DependencyViolation"))
            }],
            t,
        )
        .unwrap();
        let delete = call("DeleteSecurityGroup", None);
        assert!(rules.decide(&delete, t).is_none());
        rules.decide(&call("TerminateInstances", None), t);
        let got: Vec<bool> = (0..3).map(|_| rules.decide(&delete, t).is_some()).collect();
        assert_eq!(got, [true, true, false]);
        rules.decide(&call("DeleteAutoScalingGroup", None), t);
        assert!(rules.decide(&delete, t).is_some());
        assert_eq!(rules.fired("in use"), 3);
        assert_eq!(rules.fired("DeleteSecurityGroup"), 0, "counted by its name");
    }

    #[test]
    fn the_first_matching_rule_answers() {
        let t = Instant::now();
        let mut rules = Rules::new(
            vec![
                Rule {
                    times: Some(1),
                    ..rule("CreateQueue", error("first"))
                },
                rule("CreateQueue", error("second")),
            ],
            t,
        )
        .unwrap();
        let c = call("CreateQueue", None);
        assert_eq!(rules.decide(&c, t), Some(error("first")));
        assert_eq!(rules.decide(&c, t), Some(error("second")));
    }

    #[test]
    fn rules_that_make_no_sense_are_refused_by_their_place() {
        let t = Instant::now();
        let bad = [
            (rule("", Fault::Throttle), "`action`"),
            (
                Rule {
                    same_queue: true,
                    ..rule("CreateQueue", Fault::Throttle)
                },
                "`same_queue`",
            ),
            (
                Rule {
                    times: Some(0),
                    ..rule("CreateQueue", Fault::Throttle)
                },
                "`times`",
            ),
            (
                Rule {
                    within_secs: Some(-1.0),
                    ..rule("CreateQueue", Fault::Throttle)
                },
                "`within_secs`",
            ),
        ];
        for (r, field) in bad {
            let e = Rules::new(vec![rule("ListQueues", Fault::Throttle), r], t)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("rule 1") && e.contains(field), "{e}");
        }
    }

    #[test]
    fn rules_read_from_json() {
        let rules: Vec<Rule> = serde_json::from_str(
            r#"[{"action": "CreateQueue", "after": ["DeleteQueue"], "within_secs": 3,
                 "same_queue": true,
                 "fault": {"kind": "error", "code": "AWS.SimpleQueueService.QueueDeletedRecently",
                           "message": "wait 60 seconds"}},
                {"action": "DescribeScalingActivities",
                 "fault": {"kind": "failed_scaling_activity", "message": "vCPU limit"}}]"#,
        )
        .unwrap();
        assert_eq!(rules[0].within_secs, Some(3.0));
        assert_eq!(
            rules[1].fault,
            Fault::FailedScalingActivity {
                message: "vCPU limit".into()
            }
        );
        let unknown = serde_json::from_str::<Vec<Rule>>(
            r#"[{"action": "X", "tims": 3, "fault": {"kind": "throttle"}}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("tims"), "{unknown}");
    }
}
