//! Every name a deployment gives its AWS resources, in one place, so that setup, runs, workers and
//! cleanup agree without sharing state. Cleanup finds resources by the tags, not by these names.

/// Tag on every resource: the deployment's name.
pub const TAG_DEPLOYMENT: &str = "brood:deployment";
/// Tag on per-run resources (launch template versions, groups' instances): the run id.
pub const TAG_RUN: &str = "brood:run";
/// Tag on every resource: always `brood`.
pub const TAG_MANAGED_BY: &str = "brood:managed-by";

/// Ends the deployment's prefix in run queues' names: a character SQS allows in queue names and
/// `check_deployment_name` refuses in deployment names.
pub const RUN_QUEUE_SEPARATOR: char = '_';

/// A named set of brood resources in one AWS account, homed in one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `default` unless the user names another; lowercase letters, digits and `-`.
    pub name: String,
    /// Where the bucket and the controller's queues live.
    pub home_region: String,
    /// The 12-digit account id (from STS).
    pub account: String,
}

impl Deployment {
    /// The prefix of every resource name: `brood-<name>`.
    pub fn prefix(&self) -> String {
        format!("brood-{}", self.name)
    }

    /// The bucket unless overridden: `brood-<name>-<account>` (globally unique per account).
    pub fn default_bucket(&self) -> String {
        format!("brood-{}-{}", self.name, self.account)
    }

    /// The jobs queue of each region (the same name in every region).
    pub fn jobs_queue(&self) -> String {
        format!("{}-jobs", self.prefix())
    }

    /// The dead-letter queue beside each region's jobs queue.
    pub fn jobs_dead_letter_queue(&self) -> String {
        format!("{}-jobs-dlq", self.prefix())
    }

    /// A run's own queue in the home region (the controller's queue, a worker's control queue),
    /// from the transport-level name the controller and workers use, e.g. `ctl-<run>-<worker>`:
    /// `brood-<name>_<queue>`. The `_` ([`RUN_QUEUE_SEPARATOR`]) cannot occur in a deployment's
    /// name, so a pattern such as `brood-team_ctl-*` matches no queue of another deployment
    /// (`brood-team-ctl_...` would belong to a deployment named `team-ctl`).
    pub fn run_queue(&self, name: &str) -> String {
        format!("{}{RUN_QUEUE_SEPARATOR}{name}", self.prefix())
    }

    /// The start of every run queue's name of this deployment, e.g. `brood-team_`; IAM patterns
    /// end their wildcard after it.
    pub fn run_queue_prefix(&self) -> String {
        format!("{}{RUN_QUEUE_SEPARATOR}", self.prefix())
    }

    /// The workers' IAM role and instance profile (same name).
    pub fn worker_role(&self) -> String {
        format!("{}-worker", self.prefix())
    }

    /// The launch template of each region (the same name in every region).
    pub fn launch_template(&self) -> String {
        format!("{}-worker", self.prefix())
    }

    /// The AutoScaling group of each region (the same name in every region).
    pub fn group(&self) -> String {
        format!("{}-workers", self.prefix())
    }

    /// The security group of each region (egress only).
    pub fn security_group(&self) -> String {
        format!("{}-worker", self.prefix())
    }

    /// The bucket key of the deployment's settings (allow-listed targets, retention).
    pub const CONFIG_KEY: &'static str = "deployment.json";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_deployment_name_contains_the_separator() {
        assert!(crate::check_deployment_name("team_ctl").is_err());
        // The longest name with its longest run queue prefix stays within the 63 characters
        // that a hashed (shortened) queue name keeps, so shortening never cuts the separator.
        let d = Deployment {
            name: "a".repeat(32),
            home_region: "eu-west-1".into(),
            account: "123456789012".into(),
        };
        crate::check_deployment_name(&d.name).unwrap();
        assert!(d.run_queue("controller-").len() <= 63);
    }

    #[test]
    fn names_derive_from_the_deployment_and_account() {
        let d = Deployment {
            name: "team-a".into(),
            home_region: "eu-west-1".into(),
            account: "123456789012".into(),
        };
        assert_eq!(d.default_bucket(), "brood-team-a-123456789012");
        assert_eq!(d.jobs_queue(), "brood-team-a-jobs");
        assert_eq!(d.run_queue("ctl-r1-w1"), "brood-team-a_ctl-r1-w1");
        assert_eq!(d.run_queue_prefix(), "brood-team-a_");
        assert_eq!(d.group(), "brood-team-a-workers");
    }
}
