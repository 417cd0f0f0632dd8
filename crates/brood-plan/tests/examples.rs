//! Scenario files that parse, and the plans they compile to: the same plan from YAML and TOML,
//! defaults applied, entries numbered, and every load model turned into the right curve.

use std::path::Path;
use std::time::Duration;

use brood_plan::{
    compile, load_scenario, parse_scenario, parse_stages, parse_threshold, ArrivalUnit, Body,
    Curve, CurvePoint, EntryName, Format, LoadOptions, Plan, Profile, RequestPlan, Scenario,
    Scheme, StepPlan, TaskPlan, Url, Wait,
};

/// Request `n` of a task's steps (think steps and picks skipped).
fn request(task: &TaskPlan, n: usize) -> &RequestPlan {
    task.steps
        .iter()
        .filter_map(|s| match s {
            StepPlan::Request(r) => Some(r.as_ref()),
            _ => None,
        })
        .nth(n)
        .unwrap_or_else(|| panic!("task {} has no request {n}", task.name))
}

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn plan(format: Format, text: &str, opts: &LoadOptions) -> Plan {
    let scenario = parse_scenario(text, format, "test").unwrap_or_else(|e| panic!("{e}"));
    compile(&scenario, opts).unwrap_or_else(|e| panic!("{e}"))
}

fn secs(n: f64) -> Duration {
    Duration::from_secs_f64(n)
}

fn curve(points: &[(f64, f64)], end: Option<f64>) -> Curve {
    Curve {
        points: points
            .iter()
            .map(|&(at, value)| CurvePoint {
                at: secs(at),
                value,
            })
            .collect(),
        end: end.map(secs),
    }
}

#[test]
fn full_example_is_the_same_plan_in_yaml_and_toml() {
    let from_yaml = compile(
        &load_scenario(Path::new(&data("full.yaml"))).unwrap(),
        &LoadOptions::default(),
    );
    let from_toml = compile(
        &load_scenario(Path::new(&data("full.toml"))).unwrap(),
        &LoadOptions::default(),
    );
    let from_yaml = from_yaml.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_yaml, from_toml.unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn full_example_compiles_to_the_expected_plan() {
    let text = std::fs::read_to_string(data("full.yaml")).unwrap();
    let plan = plan(Format::Yaml, &text, &LoadOptions::default());
    let entries: Vec<(&str, &str)> = plan
        .entries
        .iter()
        .map(|e| (e.method.as_str(), e.name.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("GET", "home"),
            ("GET", "/products"),
            ("GET", "/products/[id]"),
            ("POST", "/api/login"),
            ("GET", "/admin?page=1"),
            ("DELETE", "delete item"),
            ("PUT", "/items/7"),
            ("POST", "/search"),
        ]
    );
    assert_eq!(
        plan.profile,
        Profile::Users {
            curve: curve(&[(0.0, 0.0), (10.0, 100.0)], Some(60.0))
        }
    );
    assert_eq!(plan.stop_timeout, secs(10.0));
    assert_eq!(plan.thresholds.len(), 4);
    assert!(plan.thresholds[3].abort_on_fail && !plan.thresholds[0].abort_on_fail);

    let browser = &plan.user_types[0];
    assert_eq!(
        (browser.name.as_str(), browser.weight, browser.fixed_count),
        ("browser", 3, None)
    );
    assert_eq!(browser.wait, Wait::Between(secs(1.0), secs(3.0)));
    let names: Vec<_> = browser
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(names, [("index", 5), ("browse", 1), ("task 2", 1)]);

    let detail = request(&browser.tasks[1], 1);
    assert_eq!(detail.entry, 2);
    assert_eq!(
        detail.url.to_string(),
        "http://127.0.0.1:8080/products/42?q=shoes"
    );
    assert_eq!(
        detail.headers,
        [
            ("Accept".to_string(), "application/json".to_string()),
            ("X-A".into(), "b".into())
        ]
    );
    assert_eq!(
        (
            detail.timeout,
            detail.follow_redirects,
            detail.decompress,
            detail.http2
        ),
        (secs(5.0), false, false, false)
    );
    let index = request(&browser.tasks[0], 0);
    assert_eq!((index.timeout, index.follow_redirects), (secs(30.0), true));

    let login = request(&browser.tasks[2], 0);
    assert_eq!(
        login.body,
        Some(Body {
            content_type: Some("application/json".into()),
            bytes: br#"{"user":"a"}"#.to_vec()
        })
    );

    let admin = &plan.user_types[1];
    assert_eq!((admin.weight, admin.fixed_count), (0, Some(2)));
    assert_eq!(admin.wait, Wait::ConstantPacing(secs(2.0)));
    assert_eq!(admin.tasks[0].name, "task 0");
    let delete = request(&admin.tasks[1], 0);
    assert_eq!(
        delete.url,
        Url {
            scheme: Scheme::Https,
            host: "other.example".into(),
            port: 8443,
            path_and_query: "/items/7".into()
        }
    );
    assert_eq!(admin.tasks[1].name, "delete item");
    let put = request(&admin.tasks[2], 0);
    assert_eq!(
        put.body,
        Some(Body {
            content_type: Some("text/plain".into()),
            bytes: b"raw text".to_vec()
        })
    );
    let search = request(&admin.tasks[2], 1);
    assert_eq!(
        search.body,
        Some(Body {
            content_type: Some("application/x-www-form-urlencoded".into()),
            bytes: b"q=red+shoes&page=2&tag=a&tag=b".to_vec(),
        })
    );
    assert!(search.http2);
}

/// The same scenario written both ways, with only the load section varying.
fn both(load_yaml: &str, load_toml: &str) -> Plan {
    let yaml = format!("host: http://h\nload: {load_yaml}\nusers: [{{tasks: [GET /]}}]\n");
    let toml = format!("host = \"http://h\"\nload = {load_toml}\n[[users]]\ntasks = [\"GET /\"]\n");
    let a = plan(Format::Yaml, &yaml, &LoadOptions::default());
    let b = plan(Format::Toml, &toml, &LoadOptions::default());
    assert_eq!(a, b, "{load_yaml}");
    a
}

#[test]
fn load_models_compile_to_curves() {
    let users = |points: &[(f64, f64)], end| Profile::Users {
        curve: curve(points, end),
    };
    let arrivals = |points: &[(f64, f64)], end, unit, max_users| Profile::Arrivals {
        curve: curve(points, end),
        unit,
        max_users,
    };
    let cases = [
        ("{}", "{}", users(&[(0.0, 0.0), (1.0, 1.0)], None)),
        ("{users: 5}", "{ users = 5 }", users(&[(0.0, 0.0), (5.0, 5.0)], None)),
        ("{users: 0}", "{ users = 0 }", users(&[(0.0, 0.0)], None)),
        (
            "{users: 10, spawn_rate: 4, run_time: 90}",
            "{ users = 10, spawn_rate = 4, run_time = 90 }",
            users(&[(0.0, 0.0), (2.5, 10.0)], Some(90.0)),
        ),
        (
            "{stages: [{duration: 30s, users: 100}, {duration: 1m, users: 100}, {duration: 30s, users: 0}]}",
            "{ stages = [{ duration = \"30s\", users = 100 }, { duration = \"1m\", users = 100 }, { duration = \"30s\", users = 0 }] }",
            users(&[(0.0, 0.0), (30.0, 100.0), (90.0, 100.0), (120.0, 0.0)], Some(120.0)),
        ),
        (
            "{stages: [\"10s:5\"], run_time: 1m}",
            "{ stages = [\"10s:5\"], run_time = \"1m\" }",
            users(&[(0.0, 0.0), (10.0, 5.0)], Some(60.0)),
        ),
        (
            "{arrival_rate: 200, run_time: 1m}",
            "{ arrival_rate = 200, run_time = \"1m\" }",
            arrivals(&[(0.0, 200.0)], Some(60.0), ArrivalUnit::Iterations, 400),
        ),
        (
            "{arrival_rate: 5, arrival_unit: requests, max_users: 500}",
            "{ arrival_rate = 5, arrival_unit = \"requests\", max_users = 500 }",
            arrivals(&[(0.0, 5.0)], None, ArrivalUnit::Requests, 500),
        ),
        (
            "{stages: [{duration: 30s, rate: 100}, {duration: 1m, rate: 500}]}",
            "{ stages = [{ duration = \"30s\", rate = 100 }, { duration = \"1m\", rate = 500 }] }",
            arrivals(&[(0.0, 0.0), (30.0, 100.0), (90.0, 500.0)], Some(90.0), ArrivalUnit::Iterations, 1000),
        ),
        (
            "{stages: [\"30s:100/s\"], start_rate: 20}",
            "{ stages = [\"30s:100/s\"], start_rate = 20 }",
            arrivals(&[(0.0, 20.0), (30.0, 100.0)], Some(30.0), ArrivalUnit::Iterations, 200),
        ),
    ];
    for (yaml, toml, want) in cases {
        assert_eq!(both(yaml, toml).profile, want, "{yaml}");
    }
}

#[test]
fn flags_override_the_file_field_by_field() {
    let text = "host: http://h\nload: {users: 10, spawn_rate: 2, run_time: 1m, stop_timeout: 5s}\nusers: [{tasks: [GET /]}]";
    let scenario = parse_scenario(text, Format::Yaml, "s.yaml").unwrap();
    let run = |opts: LoadOptions| compile(&scenario, &opts).unwrap_or_else(|e| panic!("{e}"));
    let users = |points: &[(f64, f64)], end| Profile::Users {
        curve: curve(points, end),
    };

    let plan = run(LoadOptions {
        users: Some(20),
        ..LoadOptions::default()
    });
    assert_eq!(plan.profile, users(&[(0.0, 0.0), (10.0, 20.0)], Some(60.0)));
    assert_eq!(plan.stop_timeout, secs(5.0));

    let plan = run(LoadOptions {
        run_time: Some(secs(5.0)),
        stop_timeout: Some(secs(1.0)),
        ..LoadOptions::default()
    });
    assert_eq!(plan.profile, users(&[(0.0, 0.0), (5.0, 10.0)], Some(5.0)));
    assert_eq!(plan.stop_timeout, secs(1.0));

    let stages = parse_stages("10s:50/s,10s:0/s").unwrap();
    let plan = run(LoadOptions {
        stages: Some(stages),
        ..LoadOptions::default()
    });
    assert_eq!(
        plan.profile,
        Profile::Arrivals {
            curve: curve(&[(0.0, 0.0), (10.0, 50.0), (20.0, 0.0)], Some(60.0)),
            unit: ArrivalUnit::Iterations,
            max_users: 100,
        }
    );

    let plan = run(LoadOptions {
        arrival_rate: Some(3.0),
        max_users: Some(7),
        host: Some("https://other:9443/base".into()),
        thresholds: vec![parse_threshold("p50 < 1s").unwrap()],
        wait: Some(Wait::Constant(secs(1.0))),
        insecure_tls: true,
        http2: Some(true),
        ..LoadOptions::default()
    });
    assert_eq!(
        plan.profile,
        Profile::Arrivals {
            curve: curve(&[(0.0, 3.0)], Some(60.0)),
            unit: ArrivalUnit::Iterations,
            max_users: 7
        }
    );
    let request = request(&plan.user_types[0].tasks[0], 0);
    assert_eq!(request.url.to_string(), "https://other:9443/base/");
    assert!(request.http2 && plan.insecure_tls);
    assert_eq!(plan.user_types[0].wait, Wait::Constant(secs(1.0)));
    assert_eq!(plan.thresholds.len(), 1);
}

#[test]
fn quick_mode_gets_one_url() {
    let scenario = Scenario::quick("http://[::1]:8080/search?q=a b").unwrap();
    let plan = compile(
        &scenario,
        &LoadOptions {
            users: Some(3),
            ..LoadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        plan.entries,
        [EntryName {
            method: "GET".into(),
            name: "/search?q=a%20b".into()
        }]
    );
    let request = request(&plan.user_types[0].tasks[0], 0);
    assert_eq!(request.url.to_string(), "http://[::1]:8080/search?q=a%20b");
    assert_eq!(plan.user_types[0].tasks[0].name, "/search?q=a%20b");

    let err = Scenario::quick("localhost:8080/x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "URL: invalid URL \"localhost:8080/x\": \"localhost:8080/x\" has no scheme (expected http:// or https://) \
         (hint: add the scheme, e.g. http://localhost:8080/x)"
    );
}

#[test]
fn entries_are_shared_by_method_and_name() {
    let yaml = "host: http://h\nusers:\n  - tasks: [GET /a, POST /a, GET /a]\n  - tasks: [{get: /b, name: /a}, GET /c]\n";
    let plan = plan(Format::Yaml, yaml, &LoadOptions::default());
    let names: Vec<_> = plan
        .entries
        .iter()
        .map(|e| format!("{} {}", e.method, e.name))
        .collect();
    assert_eq!(names, ["GET /a", "POST /a", "GET /c"]);
    let entry_of = |u: usize, t: usize| request(&plan.user_types[u].tasks[t], 0).entry;
    assert_eq!(
        [
            entry_of(0, 0),
            entry_of(0, 1),
            entry_of(0, 2),
            entry_of(1, 0),
            entry_of(1, 1)
        ],
        [0, 1, 0, 0, 2]
    );
}

#[test]
fn query_parameters_are_percent_encoded() {
    let yaml = "host: http://h/\nusers: [{tasks: [{request: {url: '/s?x=1', query: {q: 'a b&c', n: 2.5, ok: true, 'ü': '/'}}}]}]";
    let plan = plan(Format::Yaml, yaml, &LoadOptions::default());
    let request = request(&plan.user_types[0].tasks[0], 0);
    assert_eq!(
        request.url.path_and_query,
        "/s?x=1&q=a%20b%26c&n=2.5&ok=true&%C3%BC=%2F"
    );
    assert_eq!(plan.entries[0].name, "/s?x=1");
}

#[test]
fn stages_example() {
    let scenario = load_scenario(Path::new(&data("stages.yaml"))).unwrap_or_else(|e| panic!("{e}"));
    let plan = compile(&scenario, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plan.profile,
        Profile::Users {
            curve: curve(
                &[(0.0, 0.0), (30.0, 100.0), (90.0, 100.0), (120.0, 0.0)],
                Some(120.0)
            )
        }
    );
    let cart = request(&plan.user_types[0].tasks[0], 0);
    assert_eq!(
        cart.url.to_string(),
        "https://[::1]:8443/base/cart?x=1&n=1&n=2"
    );
    assert_eq!(cart.timeout, secs(2.5));
    assert_eq!(plan.entries[0].name, "cart");
    let patch = request(&plan.user_types[0].tasks[1], 1);
    assert_eq!(
        (patch.method.as_str(), patch.url.to_string()),
        ("PATCH", "http://other/b".to_string())
    );
    assert_eq!(patch.body.as_ref().unwrap().bytes, br#"[1,{"k":null}]"#);
    assert_eq!(plan.user_types[1].wait, Wait::ConstantThroughput(0.5));
    assert_eq!(request(&plan.user_types[1].tasks[0], 0).method, "HEAD");
    assert_eq!(plan.thresholds[1].value, 0.0);
}

#[test]
fn open_model_example() {
    let scenario = load_scenario(Path::new(&data("open.toml"))).unwrap_or_else(|e| panic!("{e}"));
    let plan = compile(&scenario, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plan.profile,
        Profile::Arrivals {
            curve: curve(
                &[(0.0, 10.0), (30.0, 100.0), (90.0, 500.0), (120.0, 0.0)],
                Some(180.0)
            ),
            unit: ArrivalUnit::Requests,
            max_users: 500,
        }
    );
    let login = &plan.user_types[0].tasks[0];
    assert_eq!(login.name, "login");
    assert_eq!(
        plan.entries[0],
        EntryName {
            method: "POST".into(),
            name: "login".into()
        }
    );
    let body = request(login, 0).body.as_ref().unwrap();
    assert_eq!(body.bytes, b"user=a+b&pass=1");
    assert!(request(login, 0).http2);
    let items = request(&plan.user_types[0].tasks[1], 0);
    assert_eq!(items.url.path_and_query, "/items?page=1");
    assert!(!items.decompress);
    assert!(plan.thresholds[1].abort_on_fail);
}

#[test]
fn the_repository_examples_compile() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let scenario = load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        let opts = LoadOptions {
            host: Some("http://127.0.0.1:8089".into()),
            ..LoadOptions::default()
        };
        let plan = compile(&scenario, &opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.describe().contains("expected request mix"));
        checked.push(path.file_name().unwrap().to_string_lossy().to_string());
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "api-tokens.yaml",
            "data-driven-search.yaml",
            "locustfile-port.yaml",
            "login-and-browse.yaml",
            "quickstart.yaml"
        ]
    );
}
