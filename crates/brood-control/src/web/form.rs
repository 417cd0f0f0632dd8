//! The web form turned into the same `RunInput` the command line builds, then checked by the same
//! code (`Settings::from_input`, `dist_settings`); errors are mapped to the form's field names.

use std::path::{Path, PathBuf};

use brood_plan::PlanError;
use brood_web::fields::default_of;
use brood_web::model::{FieldError, Preview, RegionPreview, RunRequest};

use crate::input::RunInput;
use crate::settings::{dist_settings, DistSettings, Settings};

/// A checked form: what `brood run` would have from the same flags.
pub struct Checked {
    pub settings: Settings,
    pub dist: DistSettings,
    /// The scenario file written for the run, when the form had one.
    pub scenario_file: Option<PathBuf>,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("scenario_file", &self.scenario_file)
            .finish_non_exhaustive()
    }
}

fn text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// A field's text, or the field table's default for it when it is empty.
fn text_or_default(value: &str, name: &str) -> Option<String> {
    text(value).or_else(|| default_of(name))
}

/// The form field a flag's error belongs to: `--spawn-rate` → `spawn_rate`, `URL` → `url`.
pub fn field_of_flag(flag: &str) -> String {
    match flag {
        "URL" => "url".into(),
        "--threshold" => "thresholds".into(),
        "--scenario" => "scenario".into(),
        other => other.trim_start_matches('-').replace('-', "_"),
    }
}

/// A plan error as a field error; scenario errors keep their line and column.
pub fn field_error(e: &PlanError, has_scenario: bool) -> FieldError {
    let with_hint = |message: String, hint: Option<&str>| match hint {
        Some(h) => format!("{message} (hint: {h})"),
        None => message,
    };
    match e {
        PlanError::InvalidOption {
            flag,
            message,
            hint,
        } => FieldError::new(
            &field_of_flag(flag),
            with_hint(message.clone(), hint.as_deref()),
        ),
        PlanError::InvalidScenario {
            position,
            path,
            message,
            hint,
            ..
        } => {
            let at = if path.is_empty() {
                String::new()
            } else {
                format!("{path}: ")
            };
            FieldError {
                line: position.map(|p| p.line),
                column: position.map(|p| p.column),
                ..FieldError::new(
                    if has_scenario { "scenario" } else { "url" },
                    with_hint(format!("{at}{message}"), hint.as_deref()),
                )
            }
        }
        PlanError::InvalidValue { message, hint } => {
            FieldError::new("form", with_hint(message.clone(), hint.as_deref()))
        }
        PlanError::ReadScenario { .. } | PlanError::UnknownFormat { .. } => {
            FieldError::new("scenario", e.to_string())
        }
    }
}

/// The flags the form stands for. `scenario_file` is where the scenario text was written.
pub fn run_args(
    request: &RunRequest,
    scenario_file: Option<PathBuf>,
    results: &Path,
) -> Result<RunInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let shape = text_or_default(&request.shape, "shape").unwrap_or_default();
    let (closed, stages, arrival) = match shape.as_str() {
        "closed" => (true, false, false),
        "stages" => (false, true, false),
        "arrival" => (false, false, true),
        other => {
            errors.push(FieldError::new(
                "shape",
                format!("expected closed, stages or arrival, got {other:?}"),
            ));
            (true, false, false)
        }
    };
    if stages && text(&request.stages).is_none() {
        errors.push(FieldError::new(
            "stages",
            "give the stages, e.g. 30s:100,1m:100,30s:0",
        ));
    }
    if arrival && text(&request.arrival_rate).is_none() {
        errors.push(FieldError::new(
            "arrival_rate",
            "give the arrivals per second, e.g. 50",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let pick = |on: bool, value: &str| if on { text(value) } else { None };
    Ok(RunInput {
        url: text(&request.url),
        scenario: scenario_file,
        host: text(&request.host),
        users: pick(closed, &request.users),
        spawn_rate: pick(closed, &request.spawn_rate),
        run_time: text(&request.run_time),
        stages: pick(stages, &request.stages),
        arrival_rate: pick(arrival, &request.arrival_rate),
        max_users: pick(arrival, &request.max_users),
        thresholds: request.thresholds.lines().filter_map(text).collect(),
        abort_on_fail: request.abort_on_fail,
        quiet: true,
        backend: text_or_default(&request.backend, "backend"),
        regions: text_or_default(&request.regions, "regions"),
        workers: text(&request.workers),
        region_latency: text(&request.region_latency),
        results: results.to_path_buf(),
        deployment: text_or_default(&request.deployment, "deployment").unwrap_or_default(),
        instance_type: text(&request.instance_type),
        vpc: text(&request.vpc).into_iter().collect(),
        subnets: text(&request.subnets).into_iter().collect(),
        security_group: text(&request.security_group).into_iter().collect(),
        max_instances: match text_or_default(&request.max_instances, "max_instances") {
            None => RunInput::default().max_instances,
            Some(n) => n.parse().map_err(|_| {
                vec![FieldError::new(
                    "max_instances",
                    format!("expected a whole number of instances, got {n:?}"),
                )]
            })?,
        },
        max_cost: match text(&request.max_cost) {
            None => None,
            Some(usd) => Some(usd.parse().map_err(|_| {
                vec![FieldError::new(
                    "max_cost",
                    format!("expected an amount in US dollars, got {usd:?}"),
                )]
            })?),
        },
        spot: request.spot,

        ..RunInput::default()
    })
}

/// Writes the form's scenario text where a run can read it (feeds are looked up next to it).
pub fn write_scenario(request: &RunRequest, dir: &Path) -> Result<Option<PathBuf>, FieldError> {
    if request.scenario.trim().is_empty() {
        return Ok(None);
    }
    let format = text_or_default(&request.scenario_format, "scenario_format").unwrap_or_default();
    let ext = match format.as_str() {
        "yaml" | "yml" => "yaml",
        "toml" => "toml",
        other => {
            return Err(FieldError::new(
                "scenario_format",
                format!("expected yaml or toml, got {other:?}"),
            ))
        }
    };
    let io = |e: std::io::Error| FieldError::new("scenario", format!("cannot store it: {e}"));
    std::fs::create_dir_all(dir).map_err(io)?;
    let stamp = brood_engine::unix_ms_now();
    let mut n = 0;
    loop {
        let path = dir.join(format!("scenario-{stamp}-{n}.{ext}"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, request.scenario.as_bytes()).map_err(io)?;
                return Ok(Some(path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(io(e)),
        }
    }
}

/// Checks a form as `brood run` checks its flags; every independent problem is reported. The
/// scenario's feed files are read from `data` (by default `<results>/scenarios`) and below only.
pub fn check(
    request: &RunRequest,
    results: &Path,
    data: Option<&Path>,
) -> Result<Checked, Vec<FieldError>> {
    let has_scenario = !request.scenario.trim().is_empty();
    let scenarios = results.join("scenarios");
    let scenario_file = write_scenario(request, &scenarios).map_err(|e| vec![e])?;
    let data = data.unwrap_or(&scenarios);
    let outcome = check_with(request, results, data, scenario_file.clone(), has_scenario);
    if outcome.is_err() {
        if let Some(path) = &scenario_file {
            let _ = std::fs::remove_file(path);
        }
    }
    outcome
}

fn check_with(
    request: &RunRequest,
    results: &Path,
    data: &Path,
    scenario_file: Option<PathBuf>,
    has_scenario: bool,
) -> Result<Checked, Vec<FieldError>> {
    let mut args = run_args(request, scenario_file.clone(), results)?;
    args.data_dir = Some(data.to_path_buf());
    let settings = Settings::from_input(&args, None);
    let dist = dist_settings(&args);
    match (settings, dist) {
        (Ok(settings), Ok(dist)) => Ok(Checked {
            settings,
            dist,
            scenario_file,
        }),
        (settings, dist) => {
            let mut errors = Vec::new();
            if let Err(e) = settings {
                errors.push(field_error(&e, has_scenario));
            }
            if let Err(e) = dist {
                errors.push(field_error(&e, has_scenario));
            }
            Err(errors)
        }
    }
}

/// What a checked form would run: its plan and, per region, its share and workers.
pub fn preview(checked: &Checked) -> Result<Preview, Vec<FieldError>> {
    let total: f64 = checked.dist.regions.iter().map(|r| r.weight).sum();
    let share = |weight: f64| if total > 0.0 { weight / total } else { 0.0 };
    let plan = crate::console::dry_run(&checked.settings.plan)
        .lines()
        .map(str::to_string)
        .collect();
    let Some(aws) = &checked.dist.aws else {
        return Ok(Preview {
            backend: "local".into(),
            regions: checked
                .dist
                .regions
                .iter()
                .map(|r| RegionPreview {
                    name: r.name.clone(),
                    share: share(r.weight),
                    workers: r.workers,
                    instances: r.workers,
                    instance_type: "worker process on this machine".into(),
                })
                .collect(),
            plan,
            cost_usd: 0.0,
            cost_note: "the local backend runs worker processes on this machine: no cost".into(),
        });
    };
    // The same sizing and prices as `brood run --backend aws`, before any AWS call.
    let (fleet, cost) = crate::aws::size_fleet(&checked.settings, &checked.dist, aws)
        .map_err(|e| vec![FieldError::new("workers", format!("{e:#}"))])?;
    cost.check_cap(aws.max_cost)
        .map_err(|e| vec![FieldError::new("max_cost", e.to_string())])?;
    let instances = |name: &str| fleet.iter().find(|(r, _)| r == name).map_or(0, |(_, n)| *n);
    // The same text `brood run` prints: the sizing and the cost's arithmetic.
    let mut plan = plan;
    plan.push(String::new());
    plan.extend(cost.render().lines().map(str::to_string));
    Ok(Preview {
        backend: "aws".into(),
        regions: checked
            .dist
            .regions
            .iter()
            .map(|r| RegionPreview {
                name: r.name.clone(),
                share: share(r.weight),
                workers: instances(&r.name),
                instances: instances(&r.name),
                instance_type: cost.instance_type.clone(),
            })
            .collect(),
        plan,
        cost_usd: cost.total().unwrap_or(0.0),
        cost_note: match cost.total() {
            Some(_) => {
                format!(
                "on-demand prices of {}, for the run time plus {} minutes of boot and idle exit \
                 per instance, billed per second, with {}public IPv4 addresses; {}{}",
                cost.date,
                crate::aws::BILLED_OVERHEAD.as_secs() / 60,
                if cost.public_ipv4 { "" } else { "no " },
                cost.credits.describe(),
                if cost.spot { "; spot is usually cheaper" } else { "" }
            )
            }
            None => "unknown: give a run time (and a region and instance type with a known price)"
                .into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> RunRequest {
        RunRequest {
            url: "http://127.0.0.1:9/".into(),
            users: "4".into(),
            spawn_rate: "2".into(),
            run_time: "5s".into(),
            regions: "local-a,local-b:3".into(),
            workers: "2".into(),
            ..RunRequest::default()
        }
    }

    fn errors(request: &RunRequest) -> Vec<FieldError> {
        let dir = tempfile::tempdir().unwrap();
        check(request, dir.path(), None).unwrap_err()
    }

    #[test]
    fn a_good_form_is_what_the_flags_would_run() {
        let dir = tempfile::tempdir().unwrap();
        let checked = check(&form(), dir.path(), None).unwrap();
        assert_eq!(checked.dist.regions.len(), 2);
        assert_eq!(checked.dist.regions[1].weight, 3.0);
        assert_eq!(checked.dist.regions[1].workers, 2);
        let p = preview(&checked).unwrap();
        assert_eq!(p.regions[1].share, 0.75);
        assert_eq!(p.cost_usd, 0.0);
        assert!(
            p.plan.iter().any(|l| l.contains("run time: 5.0s")),
            "{:?}",
            p.plan
        );
    }

    #[test]
    fn an_aws_preview_sizes_each_region_and_prices_the_fleet() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = form();
        request.backend = "aws".into();
        request.regions = "us-east-1,eu-west-1:3".into();
        request.workers.clear();
        request.users = "8000".into();
        request.run_time = "10m".into();
        request.instance_type = "t3.small".into();
        let p = preview(&check(&request, dir.path(), None).unwrap()).unwrap();
        assert_eq!(p.backend, "aws");
        let instances: Vec<u32> = p.regions.iter().map(|r| r.instances).collect();
        assert!(instances[1] > instances[0], "{instances:?}");
        assert!(p.regions.iter().all(|r| r.instance_type == "t3.small"));
        assert!(p.cost_usd > 0.0, "{p:?}");
        // The page shows the arithmetic `brood run` prints: the rate, the CPU, the instances.
        let text = p.plan.join("\n");
        assert!(
            text.contains("sizing: closed model: 8000 users")
                && text.contains("× 20% baseline")
                && text.contains("+ IPv4")
                && p.cost_note.contains("standard CPU credits"),
            "{text}\n{}",
            p.cost_note
        );

        // The cap is held against the same estimate, next to its field.
        request.max_cost = "0.001".into();
        let refused = preview(&check(&request, dir.path(), None).unwrap()).unwrap_err();
        assert_eq!(refused[0].field, "max_cost", "{refused:?}");
        request.max_cost = "lots".into();
        assert_eq!(errors(&request)[0].field, "max_cost");
        // A fleet larger than the instance cap is refused, not shrunk.
        request.max_cost.clear();
        request.max_instances = "1".into();
        let refused = preview(&check(&request, dir.path(), None).unwrap()).unwrap_err();
        assert!(refused[0].message.contains("max-instances"), "{refused:?}");
    }

    #[test]
    fn flag_errors_name_the_form_field() {
        type Case = (fn(&mut RunRequest), &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (|r| r.users = "many".into(), "users", "whole number"),
            (|r| r.spawn_rate = "-1".into(), "spawn_rate", "above 0"),
            (|r| r.run_time = "soon".into(), "run_time", ""),
            (|r| r.url = "ftp://x".into(), "url", ""),
            (|r| r.url.clear(), "url", "nothing to load"),
            (|r| r.thresholds = "p95 <".into(), "thresholds", ""),
            (|r| r.regions = "a,a".into(), "regions", "each region once"),
            (|r| r.workers = "0".into(), "workers", "1 to 256"),
            (|r| r.backend = "gcp".into(), "backend", ""),
            (|r| r.region_latency = "zz:5ms".into(), "region_latency", ""),
            (|r| r.shape = "square".into(), "shape", ""),
            (
                |r| {
                    r.shape = "stages".into();
                    r.stages = "30s".into();
                },
                "stages",
                "",
            ),
            (|r| r.shape = "arrival".into(), "arrival_rate", ""),
            (|r| r.scenario_format = "ini".into(), "scenario_format", ""),
        ];
        for (edit, field, words) in cases {
            let mut request = form();
            edit(&mut request);
            if field == "scenario_format" {
                request.url.clear();
                request.scenario = "users: []".into();
            }
            let errors = errors(&request);
            assert_eq!(errors[0].field, field, "{errors:?}");
            assert!(errors[0].message.contains(words), "{errors:?}");
        }
        // Workers region by region; a region not in the list is named as the problem.
        let dir = tempfile::tempdir().unwrap();
        let mut request = form();
        request.workers = "local-b=3".into();
        let checked = check(&request, dir.path(), None).unwrap();
        let workers: Vec<u32> = checked.dist.regions.iter().map(|r| r.workers).collect();
        assert_eq!(workers, [1, 3]);
        request.workers = "local-c=3".into();
        let unknown = errors(&request);
        assert_eq!(unknown[0].field, "workers", "{unknown:?}");
        assert!(unknown[0].message.contains("local-c"), "{unknown:?}");
        request.workers = "local-b=0".into();
        assert_eq!(errors(&request)[0].field, "workers");

        // Independent problems are all reported.
        let mut request = form();
        request.users = "x".into();
        request.workers = "x".into();
        let fields: Vec<_> = errors(&request).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["users", "workers"]);
    }

    #[test]
    fn every_shape_and_format_the_table_offers_is_taken_and_empty_is_its_default() {
        let table = brood_web::fields::table();
        let choices = |name: &str| -> Vec<String> {
            let field = table.iter().find(|f| f.name == name).unwrap();
            field.options.iter().map(|c| c.value.clone()).collect()
        };
        let dir = tempfile::tempdir().unwrap();
        for shape in choices("shape") {
            let mut request = form();
            request.shape = shape.clone();
            request.stages = "1s:1".into();
            request.arrival_rate = "1".into();
            assert!(check(&request, dir.path(), None).is_ok(), "{shape}");
        }
        for format in choices("scenario_format") {
            let request = RunRequest {
                scenario: "users: []".into(),
                scenario_format: format.clone(),
                ..RunRequest::default()
            };
            let path = write_scenario(&request, dir.path()).unwrap().unwrap();
            assert_eq!(path.extension().unwrap(), format.as_str(), "{format}");
        }
        // An empty form field is the table's default.
        let only_users = RunRequest {
            users: "3".into(),
            ..RunRequest::default()
        };
        let args = run_args(&only_users, None, dir.path()).unwrap();
        assert_eq!(args.backend, default_of("backend"));
        assert_eq!(args.regions, default_of("regions"));
        assert_eq!(Some(args.deployment), default_of("deployment"));
        assert_eq!(
            Some(args.max_instances.to_string()),
            default_of("max_instances")
        );
        assert_eq!(args.users.as_deref(), Some("3"), "closed by default");
    }

    #[test]
    fn scenario_errors_point_at_the_line() {
        let mut request = form();
        request.url.clear();
        request.host = "http://127.0.0.1:9".into();
        request.scenario =
            "users:\n  - name: a\n    tasks:\n      - get: /\n        wieght: 2\n".into();
        let dir = tempfile::tempdir().unwrap();
        let errors = check(&request, dir.path(), None).unwrap_err();
        assert_eq!(errors[0].field, "scenario");
        assert_eq!(errors[0].line, Some(5), "{errors:?}");
        assert!(errors[0].column.is_some());
        assert!(errors[0].message.contains("wieght"), "{errors:?}");
        // A rejected scenario leaves no file behind; an accepted one is kept for the run.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("scenarios"))
            .unwrap()
            .collect();
        assert!(left.is_empty());
        request.scenario = "users:\n  - name: a\n    tasks:\n      - get: /\n".into();
        let checked = check(&request, dir.path(), None).unwrap();
        assert!(checked.scenario_file.unwrap().exists());
    }
}
