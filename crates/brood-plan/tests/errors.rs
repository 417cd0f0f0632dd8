//! Every kind of mistake in a scenario or on the command line, and the exact message it gets:
//! file, line, column, field path, message and hint.

use std::time::Duration;

use brood_plan::{
    compile, parse_duration, parse_scenario, parse_stages, Format, LoadOptions, PlanError, Scenario,
};

fn error(format: Format, text: &str, opts: &LoadOptions) -> String {
    let label = match format {
        Format::Yaml => "s.yaml",
        Format::Toml => "s.toml",
    };
    let result = parse_scenario(text, format, label).and_then(|s| compile(&s, opts));
    match result {
        Ok(_) => panic!("accepted {text:?}"),
        Err(e) => e.to_string(),
    }
}

fn check(cases: &[(&str, &str)], format: Format) {
    let mut wrong = Vec::new();
    for (text, want) in cases {
        let got = error(format, text, &LoadOptions::default());
        if &got != want {
            wrong.push(format!("{text}\n  got:  {got}\n  want: {want}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// A scenario and the whole message it gets, in YAML.
const YAML_CASES: &[(&str, &str)] = &[
    (
        "host: http://h\nusers:\n  - name: a\n    wieght: 3\n    tasks: [GET /]\n",
        r#"s.yaml:4:5: users[0].wieght: unknown field "wieght" (did you mean "weight"?)"#,
    ),
    (
        "host: http://h\nusers: [{tasks: [{get: /, jsn: 1}]}]\n",
        r#"s.yaml:2:27: users[0].tasks[0].jsn: unknown field "jsn" (did you mean "json"?)"#,
    ),
    (
        "host: http://h\nusers: [{tasks: [GET /]}]\nfoo: 1\n",
        r#"s.yaml:3:1: foo: unknown field "foo" (hint: expected one of: host, defaults, load, thresholds, users)"#,
    ),
    (
        "host: http://h\nload: {arival_rate: 1}\nusers: [{tasks: [GET /]}]\n",
        r#"s.yaml:2:8: load.arival_rate: unknown field "arival_rate" (did you mean "arrival_rate"?)"#,
    ),
    (
        "host: http://h\nusers:\n  - name: a\n    tasks:\n      - GET /\n      - request: {method: G ET, url: /}\n",
        r#"s.yaml:6:27: users[0].tasks[1].request.method: invalid method "G ET" (hint: a method is one word of letters, digits or !#$%&'*+-.^_`|~, e.g. GET or POST)"#,
    ),
    (
        "host: http://h\nload: {run_time: 5x}\nusers: [{tasks: [GET /]}]\n",
        r#"s.yaml:2:18: load.run_time: invalid duration "5x": unknown unit "x" (hint: write a number with a unit: 500ms, 90s, 2m, 1h30m, 1.5s (a bare number means seconds))"#,
    ),
    (
        "host: http://h\nload: {run_time: 0s}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:2:18: load.run_time: must be longer than zero",
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n    - request: {url: /, timeout: -1}\n",
        "s.yaml:4:34: users[0].tasks[0].request.timeout: durations cannot be negative",
    ),
    (
        "host: http://h\nusers:\n  - wait: between(3s, 1s)\n    tasks: [GET /]\n",
        "s.yaml:3:11: users[0].wait: the wait's minimum (3s) is larger than its maximum (1s) (hint: write the shorter time first, e.g. between(1s, 3s))",
    ),
    (
        "host: http://h\nusers:\n  - wait: sometimes\n    tasks: [GET /]\n",
        r#"s.yaml:3:11: users[0].wait: invalid wait "sometimes" (hint: use 1s, 1s..3s, between(1s, 3s), constant(1s), constant_pacing(2s), constant_throughput(0.5) or none)"#,
    ),
    (
        "host: http://h\nload: {users: -5}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:2:15: load.users: must be at least 0, found -5",
    ),
    (
        "host: http://h\nload: {users: 2.5}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:2:15: load.users: expected a whole number, found 2.5",
    ),
    (
        "host: http://h\nload: {spawn_rate: 0}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:2:20: load.spawn_rate: must be above zero, found 0",
    ),
    (
        "host: http://h\nload: {arrival_rate: .inf}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:2:22: load.arrival_rate: must be a finite number, found inf",
    ),
    (
        "host: http://h\nusers:\n  - weight: 0\n    tasks: [GET /]\n",
        "s.yaml:3:13: users[0].weight: must be at least 1, found 0",
    ),
    (
        "host: http://h\nusers:\n  - weight: 1\n    fixed_count: 2\n    tasks: [GET /]\n",
        "s.yaml:4:18: users[0].fixed_count: `fixed_count` cannot be combined with `weight` (hint: a user type runs a fixed number of users or takes a weighted share)",
    ),
    (
        "users:\n  - tasks: [GET /]\n",
        r#"s.yaml:2:13: users[0].tasks[0]: the relative URL "/" needs a host (hint: set `host` in the scenario or pass --host)"#,
    ),
    (
        "users:\n  - tasks:\n    - request: {url: /a}\n",
        r#"s.yaml:3:22: users[0].tasks[0].request.url: the relative URL "/a" needs a host (hint: set `host` in the scenario or pass --host)"#,
    ),
    (
        "users:\n  - tasks:\n    - requests: [GET http://h/, GET /b]\n",
        r#"s.yaml:3:33: users[0].tasks[0].requests[1]: the relative URL "/b" needs a host (hint: set `host` in the scenario or pass --host)"#,
    ),
    (
        "users:\n  - tasks:\n    - post: /login\n      json: {a: 1}\n",
        r#"s.yaml:3:13: users[0].tasks[0].post: the relative URL "/login" needs a host (hint: set `host` in the scenario or pass --host)"#,
    ),
    (
        "host: localhost:8080\nusers: [{tasks: [GET /]}]\n",
        r#"s.yaml:1:7: host: invalid host "localhost:8080": "localhost:8080" has no scheme (expected http:// or https://) (hint: add the scheme, e.g. http://localhost:8080)"#,
    ),
    (
        "host: http://h?x=1\nusers: [{tasks: [GET /]}]\n",
        r#"s.yaml:1:7: host: the host "http://h?x=1" has a query string (hint: put query parameters on the requests)"#,
    ),
    (
        "host: http://h\nusers: [{tasks: [{get: ftp://x/}]}]\n",
        r#"s.yaml:2:24: users[0].tasks[0].get: invalid URL "ftp://x/": unsupported scheme "ftp" (expected http or https)"#,
    ),
    (
        "host: http://h\nusers: [{tasks: [GET cart]}]\n",
        r#"s.yaml:2:18: users[0].tasks[0]: invalid URL "cart": relative URLs start with '/' (hint: write a path such as /cart, or a full URL such as http://example.com/cart)"#,
    ),
    (
        "host: http://h\nusers: [{tasks: [{request: {url: 'http://[::1'}}]}]\n",
        r#"s.yaml:2:34: users[0].tasks[0].request.url: invalid URL "http://[::1": unclosed '[' in host "[::1""#,
    ),
    (
        "host: http://h\nthresholds: [p95 < 5x]\nusers: [{tasks: [GET /]}]\n",
        r#"s.yaml:2:14: thresholds[0]: invalid threshold "p95 < 5x": invalid duration "5x": unknown unit "x" (hint: write [METHOD NAME:] METRIC OP VALUE, e.g. "p95 < 500ms", "failure_rate < 1%", "rps > 100" or "GET /cart: p99 < 1s")"#,
    ),
    (
        "host: http://h\nthresholds: [\"GET /nope: p99 < 1s\", p95 < 1s]\nusers: [{tasks: [GET /, {name: cart, post: /c}]}]\n",
        "s.yaml:2:14: thresholds[0]: `GET /nope: p99 < 1s` names the entry `GET /nope`, which no request of the scenario makes (hint: the entries are GET /, POST cart (an entry is a request's `name:`, else its path))",
    ),
    (
        "host: http://h\nthresholds: [p95 < 1s, \"GET cart: p95 < 1s\"]\nusers: [{tasks: [GET /, {name: cart, post: /c}]}]\n",
        "s.yaml:2:24: thresholds[1]: `GET cart: p95 < 1s` names the entry `GET cart`, which no request of the scenario makes (hint: the entries are GET /, POST cart (an entry is a request's `name:`, else its path))",
    ),
    (
        "host: http://h\nthresholds:\n  - {check: latency < 1s, abort: true}\nusers: [{tasks: [GET /]}]\n",
        r#"s.yaml:3:13: thresholds[0].check: invalid threshold "latency < 1s": unknown metric "latency" (hint: write [METHOD NAME:] METRIC OP VALUE, e.g. "p95 < 500ms", "failure_rate < 1%", "rps > 100" or "GET /cart: p99 < 1s")"#,
    ),
    (
        "host: http://h\nusers:\n  - tasks:\n    - name: x\n      request: {url: /, json: 1, body: a}\n",
        "s.yaml:5:31: users[0].tasks[0].request.json: a request has one body: `body`, `json` or `form` (hint: keep one of them)",
    ),
    (
        "host: http://h\nusers: [{tasks: [{name: x}]}]\n",
        "s.yaml:2:18: users[0].tasks[0]: the task sends no request (hint: give `request`, `requests`, `steps`, `pick`, or a method key such as `get: /path`)",
    ),
    (
        "host: http://h\nusers: [{tasks: [{request: GET /, get: /}]}]\n",
        "s.yaml:2:40: users[0].tasks[0].get: `get` cannot be combined with `request` (hint: give `request`, `requests`, `steps`, `pick`, or a method key such as `get: /path`)",
    ),
    (
        "host: http://h\nusers: [{tasks: [{request: GET /, json: 1}]}]\n",
        "s.yaml:2:41: users[0].tasks[0].json: `json` belongs inside request",
    ),
    (
        "host: http://h\nusers: [{tasks: [{requests: []}]}]\n",
        "s.yaml:2:29: users[0].tasks[0].requests: `requests` is empty",
    ),
    (
        "host: http://h\nusers: [{tasks: [{get: /, headers: {'a b': c}}]}]\n",
        r#"s.yaml:2:44: users[0].tasks[0].headers.a b: invalid header name "a b" (hint: header names are one word, e.g. X-Request-Id)"#,
    ),
    (
        "host: http://h\nload: {users: 5, arrival_rate: 3}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:2:15: load.users: `users` cannot be combined with `arrival_rate` (hint: pick one load model: users (+ spawn_rate), stages, or arrival_rate)",
    ),
    (
        "host: http://h\nload: {users: 5, max_users: 3}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:2:29: load.max_users: `max_users` applies only to the open model (arrival_rate or rate stages)",
    ),
    (
        "host: http://h\nload:\n  stages:\n    - {duration: 1s, users: 3}\n    - {duration: 1s, rate: 3}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:5:7: load.stages[1]: stage 1 sets `rate` but stage 0 sets `users`; all stages must be one kind",
    ),
    (
        "host: http://h\nload:\n  stages:\n    - {duration: 1s}\nusers: [{tasks: [GET /]}]\n",
        "s.yaml:4:7: load.stages[0]: a stage needs `users` or `rate` (hint: e.g. {duration: 30s, users: 100})",
    ),
    (
        "host: http://h\nload: {arrival_rate: 1, arrival_unit: iteratoins}\nusers: [{tasks: [GET /]}]\n",
        r#"s.yaml:2:39: load.arrival_unit: unknown arrival unit "iteratoins" (hint: use iterations (a whole task per arrival) or requests (one request))"#,
    ),
    (
        "host: http://h\nusers: [{tasks: []}]\n",
        "s.yaml:2:17: users[0].tasks: the user type has no tasks",
    ),
    (
        "host: http://h\nusers: []\n",
        "s.yaml:2:8: users: the scenario has no user types (hint: add a user type with at least one task under `users`)",
    ),
    (
        "host: http://h\nusers: [{name: a, tasks: [GET /]}, {name: a, tasks: [GET /]}]\n",
        r#"s.yaml:2:43: users[1].name: two user types are named "a""#,
    ),
    ("host: http://h\n", r#"s.yaml:1:1: missing field "users""#),
    ("", "s.yaml: the scenario is empty"),
    (
        "host: http://h\nusers: [{tasks: [GET /]\n",
        "s.yaml:3:1: users[0]: did not find expected ',' or '}', while parsing a flow mapping at line 2 column 9",
    ),
    ("- a\n", "s.yaml:1:1: invalid type: sequence, expected struct Scenario"),
];

/// A scenario and the whole message it gets, in TOML.
const TOML_CASES: &[(&str, &str)] = &[
    (
        "host = \"http://h\"\n[[users]]\nname = \"a\"\nwieght = 3\ntasks = [\"GET /\"]\n",
        r#"s.toml:4:1: users[0].wieght: unknown field "wieght" (did you mean "weight"?)"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\ntasks = [\"GET /\", { request = { method = \"G ET\", url = \"/\" } }]\n",
        r#"s.toml:3:42: users[0].tasks[1].request.method: invalid method "G ET" (hint: a method is one word of letters, digits or !#$%&'*+-.^_`|~, e.g. GET or POST)"#,
    ),
    (
        "host = \"http://h\"\nload = { run_time = \"5x\" }\n[[users]]\ntasks = [\"GET /\"]\n",
        r#"s.toml:2:21: load.run_time: invalid duration "5x": unknown unit "x" (hint: write a number with a unit: 500ms, 90s, 2m, 1h30m, 1.5s (a bare number means seconds))"#,
    ),
    (
        "host = \"http://h\"\n[[users]]\nweight = 1\nfixed_count = 2\ntasks = [\"GET /\"]\n",
        "s.toml:4:15: users[0].fixed_count: `fixed_count` cannot be combined with `weight` (hint: a user type runs a fixed number of users or takes a weighted share)",
    ),
    (
        "[[users]]\n[[users.tasks]]\nget = \"/x\"\n",
        r#"s.toml:3:7: users[0].tasks[0].get: the relative URL "/x" needs a host (hint: set `host` in the scenario or pass --host)"#,
    ),
    (
        "host = \"ftp://h\"\n[[users]]\ntasks = [\"GET /\"]\n",
        r#"s.toml:1:8: host: invalid host "ftp://h": unsupported scheme "ftp" (expected http or https)"#,
    ),
    (
        "host = \"http://h\"\nthresholds = [\"p95 500ms\"]\n[[users]]\ntasks = [\"GET /\"]\n",
        r#"s.toml:2:15: thresholds[0]: invalid threshold "p95 500ms": no comparison (<, <=, >, >=, ==) (hint: write [METHOD NAME:] METRIC OP VALUE, e.g. "p95 < 500ms", "failure_rate < 1%", "rps > 100" or "GET /cart: p99 < 1s")"#,
    ),
    (
        "host = \"http://h\"\n[load]\nusers = -1\n[[users]]\ntasks = [\"GET /\"]\n",
        "s.toml:3:9: load.users: must be at least 0, found -1",
    ),
    (
        "host = \"http://h\"\n[[users]]\nwait = \"1s..\"\ntasks = [\"GET /\"]\n",
        r#"s.toml:3:8: users[0].wait: empty duration (hint: write a number with a unit: 500ms, 90s, 2m, 1h30m, 1.5s (a bare number means seconds))"#,
    ),
    (
        "host = \"http://h\"\n[load]\nstages = [{ duration = \"1s\", users = 1, rate = 2 }]\n[[users]]\ntasks = [\"GET /\"]\n",
        "s.toml:3:48: load.stages[0].rate: a stage sets `users` or `rate`, not both",
    ),
    ("host = \nusers = 1", "s.toml:1:8: string values must be quoted, expected literal string"),
    ("", r#"s.toml:1:1: missing field "users""#),
];

#[test]
fn yaml_mistakes() {
    check(YAML_CASES, Format::Yaml);
}

#[test]
fn toml_mistakes() {
    check(TOML_CASES, Format::Toml);
}

#[test]
fn flag_mistakes_name_the_flag() {
    let text = "host: http://h\nload: {arrival_rate: 5}\nusers: [{tasks: [GET /]}]\n";
    let opts = |f: fn(&mut LoadOptions)| {
        let mut o = LoadOptions::default();
        f(&mut o);
        o
    };
    let cases = [
        (opts(|o| o.spawn_rate = Some(0.0)), "--spawn-rate: must be above zero, found 0"),
        (opts(|o| o.spawn_rate = Some(f64::NAN)), "--spawn-rate: must be a finite number, found NaN"),
        (opts(|o| o.arrival_rate = Some(-1.0)), "--arrival-rate: must be above zero, found -1"),
        (opts(|o| o.run_time = Some(Duration::ZERO)), "--run-time: must be longer than zero"),
        (opts(|o| o.max_users = Some(0)), "--max-users: must be at least 1"),
        (
            opts(|o| o.host = Some("example.com".into())),
            r#"--host: invalid host "example.com": "example.com" has no scheme (expected http:// or https://) (hint: add the scheme, e.g. http://example.com)"#,
        ),
        (
            opts(|o| {
                o.users = Some(3);
                o.arrival_rate = Some(3.0);
            }),
            "--arrival-rate: cannot be combined with --users (hint: --arrival-rate runs the open model; cap it with --max-users)",
        ),
        (
            opts(|o| {
                o.users = Some(3);
                o.max_users = Some(3);
            }),
            "--max-users: applies only to the open model (--arrival-rate or rate stages)",
        ),
        (
            opts(|o| {
                o.stages = Some(parse_stages("1s:1").unwrap());
                o.users = Some(3);
            }),
            "--stages: cannot be combined with --users",
        ),
        (opts(|o| o.stages = Some(Vec::new())), "--stages: no stages (hint: give at least one stage, e.g. 30s:100)"),
        (
            opts(|o| o.thresholds = vec![brood_plan::parse_threshold("/nope: p95 < 1s").unwrap()]),
            "--threshold: `/nope: p95 < 1s` names the entry `/nope`, which no request of the scenario makes (hint: the entries are GET / (an entry is a request's `name:`, else its path))",
        ),
        (
            opts(|o| {
                o.users = Some(u64::MAX);
                o.spawn_rate = Some(1e-10);
            }),
            "--spawn-rate: starting 18446744073709551615 users at 0.0000000001 per second would take too long",
        ),
    ];
    for (opts, want) in cases {
        assert_eq!(error(Format::Yaml, text, &opts), want);
    }
}

#[test]
fn stand_alone_values_take_the_flag_name() {
    let err = parse_duration("5x").unwrap_err().for_flag("--run-time");
    assert!(matches!(&err, PlanError::InvalidOption { flag, .. } if flag == "--run-time"));
    assert_eq!(
        err.to_string(),
        r#"--run-time: invalid duration "5x": unknown unit "x" (hint: write a number with a unit: 500ms, 90s, 2m, 1h30m, 1.5s (a bare number means seconds))"#
    );
    let err = parse_stages("30s:100,1m:5/s")
        .unwrap_err()
        .for_flag("--stages");
    assert_eq!(
        err.to_string(),
        "--stages: stage 1 sets `rate` but stage 0 sets `users`; all stages must be one kind"
    );
}

#[test]
fn unreadable_files_and_unknown_extensions() {
    let err = brood_plan::load_scenario(std::path::Path::new("scenario.json")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scenario.json: unknown scenario format (hint: name the file *.yaml, *.yml or *.toml)"
    );
    let err = brood_plan::load_scenario(std::path::Path::new("/nonexistent/s.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/s.yaml: cannot read the scenario file: "),
        "{err}"
    );
}

#[test]
fn scenarios_built_in_code_are_checked_too() {
    let base = || Scenario::quick("http://h/").unwrap();
    let mut zero_weight = base();
    zero_weight.users[0].weight = Some(0);
    let mut no_steps = base();
    no_steps.users[0].tasks[0].steps.clear();
    let mut bad_rate = base();
    bad_rate.load.spawn_rate = Some(f64::NAN);
    let mut empty_stages = base();
    empty_stages.load.stages = Some(Vec::new());
    let cases = [
        (
            zero_weight,
            "<scenario>: users[0].weight: must be at least 1, found 0",
        ),
        (
            no_steps,
            "<scenario>: users[0].tasks[0]: the task sends no request",
        ),
        (
            bad_rate,
            "<scenario>: load.spawn_rate: must be a finite number, found NaN",
        ),
        (
            empty_stages,
            "<scenario>: load.stages: no stages (hint: give at least one stage, e.g. 30s:100)",
        ),
    ];
    for (scenario, want) in cases {
        let err = compile(&scenario, &LoadOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn scenario_size_depth_and_task_count_are_bounded() {
    // 100,000 levels of flow brackets (200 KB): refused where nesting passes the limit, before
    // the parser sees it.
    let deep = format!(
        "host: http://h\nusers: [{{tasks: [{{post: /, json: {}{}}}]}}]\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let got = error(Format::Yaml, &deep, &LoadOptions::default());
    assert_eq!(
        got,
        "s.yaml:2:93: values nest more than 64 levels deep (hint: flatten the nested lists or mappings)"
    );
    let dashes = format!("host: http://h\nusers:\n  {}x\n", "- ".repeat(100_000));
    let got = error(Format::Yaml, &dashes, &LoadOptions::default());
    assert!(got.contains("nest more than 64 levels"), "{got}");

    let big = format!(
        "host: http://h\nusers: [{{tasks: [GET /]}}]\n#{}\n",
        "x".repeat(brood_plan::MAX_SCENARIO_BYTES)
    );
    let got = error(Format::Yaml, &big, &LoadOptions::default());
    assert!(got.starts_with("s.yaml: the scenario is 4194"), "{got}");
    assert!(got.contains("feed file"), "{got}");

    let mut many = String::from("host: http://h\nusers:\n  - tasks:\n");
    for n in 0..10_001 {
        many.push_str(&format!("      - GET /{n}\n"));
    }
    let got = error(Format::Yaml, &many, &LoadOptions::default());
    assert!(
        got.contains("users: the scenario has 10001 tasks; the most is 10000"),
        "{got}"
    );
}
