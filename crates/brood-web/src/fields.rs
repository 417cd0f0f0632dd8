//! The new-test form's fields, written once: name (as in [`RunRequest`]), label, kind, placeholder,
//! help, where on the page it goes, which mode, load shape or backend it belongs to, and the value
//! the server takes when it is left empty. `GET /api/config` serves the table (with the backend's
//! choices filled from the server's backends) and the page builds its form from it;
//! `brood-control`'s `web/form.rs` maps a [`RunRequest`] onto the library's input and takes the
//! defaults from here.
//!
//! [`RunRequest`]: crate::model::RunRequest

use serde::{Deserialize, Serialize};

use crate::model::BackendInfo;

/// How a field is typed in. Every kind but `checkbox` is sent as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Text,
    /// A number, typed as text (the server says what is wrong with it).
    Number,
    /// A duration such as `30s`, `5m`, `1h30m`.
    Duration,
    Textarea,
    /// One of `options`.
    Select,
    /// A switch; the only kind sent as a boolean.
    Checkbox,
}

/// Where the page puts a field: the target (the quick/scenario switch), the load, the thresholds,
/// or where the load comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Target,
    Load,
    Thresholds,
    Where,
}

/// When a field is shown (and sent): only in one mode of the page (`quick` or `scenario`), or only
/// with one value of the `shape` or `backend` field. As JSON `{"shape": "closed"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Only {
    Mode(String),
    Shape(String),
    Backend(String),
}

/// One choice of a select.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// One field of the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The [`RunRequest`](crate::model::RunRequest) field (serde name); the page's input is
    /// `f-<name>`, its error slot `e-<name>`.
    pub name: String,
    pub label: String,
    pub kind: Kind,
    /// Shown in the empty input; empty for none.
    pub placeholder: String,
    /// A line under the input; empty for none.
    pub help: String,
    /// For a select.
    pub options: Vec<Choice>,
    pub section: Section,
    /// Fields next to each other with the same row name share a row on the page.
    pub row: Option<String>,
    /// Shown and sent only in this mode, shape or backend; always when `None`.
    pub only: Option<Only>,
    /// What the server takes when the field is empty, where it has a default.
    pub default: Option<String>,
    /// A textarea's height in lines.
    pub lines: Option<u32>,
}

impl Field {
    fn new(name: &str, kind: Kind, section: Section, label: &str) -> Field {
        Field {
            name: name.into(),
            label: label.into(),
            kind,
            placeholder: String::new(),
            help: String::new(),
            options: Vec::new(),
            section,
            row: None,
            only: None,
            default: None,
            lines: None,
        }
    }
    fn placeholder(self, placeholder: &str) -> Field {
        Field {
            placeholder: placeholder.into(),
            ..self
        }
    }
    fn help(self, help: &str) -> Field {
        Field {
            help: help.into(),
            ..self
        }
    }
    fn row(self, row: &str) -> Field {
        Field {
            row: Some(row.into()),
            ..self
        }
    }
    fn only(self, only: Only) -> Field {
        Field {
            only: Some(only),
            ..self
        }
    }
    fn default_value(self, default: &str) -> Field {
        Field {
            default: Some(default.into()),
            ..self
        }
    }
    fn lines(self, lines: u32) -> Field {
        Field {
            lines: Some(lines),
            ..self
        }
    }
    fn options(self, options: &[(&str, &str)]) -> Field {
        Field {
            options: options
                .iter()
                .map(|(value, label)| Choice {
                    value: (*value).into(),
                    label: (*label).into(),
                })
                .collect(),
            ..self
        }
    }
}

fn mode(m: &str) -> Only {
    Only::Mode(m.into())
}
fn shape(s: &str) -> Only {
    Only::Shape(s.into())
}
fn backend(b: &str) -> Only {
    Only::Backend(b.into())
}

/// Every field of the form, in the page's order. The backend's choices are the server's
/// ([`form`]); here they are empty.
pub fn table() -> Vec<Field> {
    use Kind::*;
    use Section::*;
    vec![
        Field::new("url", Text, Target, "Target URL")
            .placeholder("https://staging.example.com/")
            .help("Quick mode: every user sends GET to this URL.")
            .only(mode("quick")),
        Field::new("host", Text, Target, "Host")
            .placeholder("https://staging.example.com")
            .help("Where relative URLs go (--host).")
            .row("scenario-file")
            .only(mode("scenario")),
        Field::new("scenario_format", Select, Target, "Format")
            .options(&[("yaml", "YAML"), ("toml", "TOML")])
            .row("scenario-file")
            .only(mode("scenario"))
            .default_value("yaml"),
        Field::new("scenario", Textarea, Target, "Scenario")
            .help("Checked as you type; errors point at the line.")
            .only(mode("scenario"))
            .lines(18),
        Field::new("shape", Select, Load, "Load shape")
            .options(&[
                ("closed", "Closed: users and spawn rate"),
                ("stages", "Stages: users (or arrivals) ramped over time"),
                ("arrival", "Arrival rate: open model"),
            ])
            .row("load")
            .default_value("closed"),
        Field::new("run_time", Duration, Load, "Run time")
            .placeholder("60s")
            .help("e.g. 30s, 5m, 1h30m; empty: until stopped.")
            .row("load"),
        Field::new("users", Number, Load, "Users")
            .help("Peak concurrent users.")
            .row("closed")
            .only(shape("closed")),
        Field::new("spawn_rate", Number, Load, "Spawn rate")
            .help("Users started per second.")
            .row("closed")
            .only(shape("closed")),
        Field::new("stages", Text, Load, "Stages")
            .placeholder("30s:100,1m:100,30s:0")
            .help("duration:users, or duration:rate/s for arrivals.")
            .row("stages")
            .only(shape("stages")),
        Field::new("arrival_rate", Number, Load, "Arrivals per second")
            .row("arrival")
            .only(shape("arrival")),
        Field::new("max_users", Number, Load, "Max users")
            .help("Arrivals beyond these are dropped and counted.")
            .row("arrival")
            .only(shape("arrival")),
        Field::new("thresholds", Textarea, Thresholds, "One per line")
            .placeholder("p95 < 500ms\nfailure_rate < 1%")
            .lines(3),
        Field::new(
            "abort_on_fail",
            Checkbox,
            Thresholds,
            "Stop the run as soon as a threshold fails",
        ),
        Field::new("backend", Select, Where, "Backend")
            .row("where")
            .default_value("local"),
        Field::new("regions", Text, Where, "Regions")
            .help("name or name:weight, comma-separated.")
            .row("where")
            .default_value("local"),
        Field::new("workers", Text, Where, "Workers per region")
            .help("a number, or region=count, comma-separated.")
            .row("where"),
        Field::new(
            "region_latency",
            Text,
            Where,
            "Added latency per region (local backend)",
        )
        .placeholder("local-b:80ms")
        .only(backend("local")),
        Field::new("deployment", Text, Where, "Deployment")
            .placeholder("default")
            .help("Set up by brood aws setup (or at the first run).")
            .row("aws")
            .only(backend("aws"))
            .default_value("default"),
        Field::new("instance_type", Text, Where, "Instance type")
            .placeholder("c6i.large")
            .row("aws")
            .only(backend("aws")),
        Field::new("max_instances", Number, Where, "Max instances")
            .placeholder("20")
            .help("Over all regions; a larger fleet is refused.")
            .row("aws")
            .only(backend("aws"))
            .default_value("20"),
        Field::new("max_cost", Number, Where, "Max cost (USD)")
            .placeholder("no cap")
            .help("Refuse to start above the estimate.")
            .row("aws")
            .only(backend("aws")),
        Field::new("spot", Checkbox, Where, "Spot instances").only(backend("aws")),
        Field::new("vpc", Text, Where, "VPC")
            .placeholder("default VPC")
            .help("vpc-…, or us-east-1=vpc-…,eu-west-1=vpc-… for several regions.")
            .row("aws-network")
            .only(backend("aws")),
        Field::new("subnets", Text, Where, "Subnets")
            .placeholder("public subnets")
            .help(
                "subnet-a,subnet-b, or us-east-1=subnet-a,…; may route out through a NAT gateway.",
            )
            .row("aws-network")
            .only(backend("aws")),
        Field::new("security_group", Text, Where, "Security group")
            .placeholder("brood's own")
            .help("sg-…, or us-east-1=sg-…; a group of the VPC.")
            .row("aws-network")
            .only(backend("aws")),
    ]
}

/// The table as the page gets it: the backend's choices are `backends`.
pub fn form(backends: &[BackendInfo]) -> Vec<Field> {
    let mut fields = table();
    for field in fields.iter_mut().filter(|f| f.name == "backend") {
        field.options = backends
            .iter()
            .map(|b| Choice {
                value: b.name.clone(),
                label: b.label.clone(),
            })
            .collect();
    }
    fields
}

/// What the server takes for an empty `name` (see [`Field::default`]).
pub fn default_of(name: &str) -> Option<String> {
    table()
        .into_iter()
        .find(|f| f.name == name)
        .and_then(|f| f.default)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::RunRequest;

    #[test]
    fn the_table_has_every_field_of_the_request_and_no_other() {
        let request = serde_json::to_value(RunRequest::default()).unwrap();
        let request = request.as_object().unwrap();
        let fields = table();
        let names: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), fields.len(), "a field is in the table twice");
        let keys: BTreeSet<&str> = request.keys().map(String::as_str).collect();
        assert_eq!(names, keys);
        // Checkboxes are exactly the request's booleans.
        for field in &fields {
            assert_eq!(
                field.kind == Kind::Checkbox,
                request[&field.name].is_boolean(),
                "{}",
                field.name
            );
        }
    }

    #[test]
    fn the_api_description_has_every_field_of_the_request() {
        let doc: serde_json::Value = serde_json::from_str(crate::OPENAPI_JSON).unwrap();
        let described = doc["components"]["schemas"]["RunRequest"]["properties"]
            .as_object()
            .unwrap();
        let described: BTreeSet<&str> = described.keys().map(String::as_str).collect();
        let fields = table();
        let names: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(described, names);
    }

    #[test]
    fn choices_conditions_and_defaults_agree_with_the_table() {
        let fields = table();
        let options = |name: &str| -> Vec<String> {
            let field = fields.iter().find(|f| f.name == name).unwrap();
            field.options.iter().map(|c| c.value.clone()).collect()
        };
        for field in &fields {
            assert!(!field.label.is_empty(), "{}", field.name);
            assert_eq!(
                field.kind == Kind::Select && field.name != "backend",
                !field.options.is_empty(),
                "{}: only selects have options",
                field.name
            );
            assert_eq!(
                field.kind == Kind::Textarea,
                field.lines.is_some(),
                "{}",
                field.name
            );
            if let (Kind::Select, Some(default)) = (field.kind, &field.default) {
                if field.name != "backend" {
                    assert!(options(&field.name).contains(default), "{}", field.name);
                }
            }
            match &field.only {
                Some(Only::Shape(s)) => assert!(options("shape").contains(s), "{}", field.name),
                Some(Only::Mode(m)) => assert!(m == "quick" || m == "scenario", "{}", field.name),
                _ => {}
            }
        }
        assert_eq!(default_of("max_instances").as_deref(), Some("20"));
        assert_eq!(default_of("users"), None);
        let backends = [BackendInfo {
            name: "local".into(),
            label: "on this machine".into(),
            regions: "a".into(),
        }];
        let served = form(&backends);
        let backend = served.iter().find(|f| f.name == "backend").unwrap();
        assert_eq!(backend.options[0].value, "local");
        assert_eq!(backend.options[0].label, "on this machine");
    }

    #[test]
    fn conditions_are_single_key_objects() {
        let json = serde_json::to_value(&table()[0]).unwrap();
        assert_eq!(json["only"], serde_json::json!({ "mode": "quick" }));
        assert_eq!(json["kind"], "text");
        assert_eq!(json["section"], "target");
    }
}
