//! `brood check`'s work: a scenario parsed and compiled without running it.

use std::path::Path;

use brood_plan::{compile, load_scenario, LoadOptions, Plan, PlanError};

/// Stands in for the host when none is given: the file may be meant for `--host`.
const PLACEHOLDER_HOST: &str = "http://host.invalid";

/// The compiled plan of the scenario at `path`, with relative URLs aimed at `host` (or at a
/// placeholder when neither `host` nor the file names one).
pub fn check(path: &Path, host: Option<&str>) -> Result<Plan, PlanError> {
    let scenario = load_scenario(path)?;
    let placeholder = (scenario.host.is_none() && host.is_none()).then(|| PLACEHOLDER_HOST.into());
    let opts = LoadOptions {
        host: host.map(str::to_string).or(placeholder),
        ..LoadOptions::default()
    };
    compile(&scenario, &opts)
}
