//! Every name a deployment gives its AWS resources, in one place, so that setup, runs, workers and
//! cleanup agree without sharing state. Cleanup finds resources by the tags, not by these names.

/// Tag on every resource: the deployment's name.
pub const TAG_DEPLOYMENT: &str = "brood:deployment";
/// Tag on per-run resources (launch template versions, groups' instances): the run id.
pub const TAG_RUN: &str = "brood:run";
/// Tag on every resource: always `brood`.
pub const TAG_MANAGED_BY: &str = "brood:managed-by";

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
    /// from the transport-level name the controller and workers use, e.g. `ctl-<run>-<worker>`.
    pub fn run_queue(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix())
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
    fn names_derive_from_the_deployment_and_account() {
        let d = Deployment {
            name: "team-a".into(),
            home_region: "eu-west-1".into(),
            account: "123456789012".into(),
        };
        assert_eq!(d.default_bucket(), "brood-team-a-123456789012");
        assert_eq!(d.jobs_queue(), "brood-team-a-jobs");
        assert_eq!(d.run_queue("ctl-r1-w1"), "brood-team-a-ctl-r1-w1");
        assert_eq!(d.group(), "brood-team-a-workers");
    }
}
